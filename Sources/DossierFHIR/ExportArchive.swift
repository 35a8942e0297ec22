import Foundation

/// The export's ZIP (decision 0007): stored entries (contents are mostly compressed formats
/// already), written in one pass with data descriptors, so a file of any size streams through
/// without being held. Archives up to 4 GiB (no ZIP64).
public final class ExportArchiveWriter {
    struct Entry {
        let name: [UInt8]
        let offset: UInt32
        var crc: UInt32 = 0
        var size: UInt32 = 0
    }

    private let handle: FileHandle
    private var offset: UInt64 = 0
    private var entries: [Entry] = []
    private var current: Entry?
    private var crc = CRC32()

    public struct TooLarge: Error, CustomStringConvertible {
        public var description: String { "the archive would pass 4 GiB (ZIP64 is not written)" }
    }

    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    private func emit(_ bytes: [UInt8]) throws {
        guard offset + UInt64(bytes.count) < UInt64(UInt32.max) else { throw TooLarge() }
        try handle.write(contentsOf: bytes)
        offset += UInt64(bytes.count)
    }

    public func begin(_ name: String) throws {
        precondition(current == nil, "end the previous entry first")
        let nameBytes = Array(name.utf8)
        current = Entry(name: nameBytes, offset: UInt32(offset))
        crc = CRC32()
        var header = le32(0x0403_4b50) + le16(20) + le16(0x0808) + le16(0) + le16(0) + le16(0x21)
        header += le32(0) + le32(0) + le32(0) + le16(UInt16(nameBytes.count)) + le16(0)
        try emit(header + nameBytes)
    }

    public func write(_ bytes: [UInt8]) throws {
        guard current != nil else { preconditionFailure("begin an entry first") }
        crc.update(bytes)
        current!.size = UInt32(truncatingIfNeeded: UInt64(current!.size) + UInt64(bytes.count))
        try emit(bytes)
    }

    public func end() throws {
        guard var entry = current else { return }
        entry.crc = crc.value
        try emit(le32(0x0807_4b50) + le32(entry.crc) + le32(entry.size) + le32(entry.size))
        entries.append(entry)
        current = nil
    }

    public func finish() throws {
        try end()
        let start = offset
        for entry in entries {
            var record = le32(0x0201_4b50) + le16(20) + le16(20) + le16(0x0808) + le16(0) + le16(0) + le16(0x21)
            record += le32(entry.crc) + le32(entry.size) + le32(entry.size) + le16(UInt16(entry.name.count))
            record += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(entry.offset)
            try emit(record + entry.name)
        }
        let size = offset - start
        try emit(
            le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
                + le32(UInt32(size)) + le32(UInt32(start)) + le16(0))
        try handle.close()
    }
}

/// Reads an export's ZIP: its entries, and each one's bytes by ranges (stored entries only).
public final class ExportArchiveReader {
    public struct Entry: Sendable {
        public let name: String
        public let size: UInt64
        public let crc: UInt32
        let localOffset: UInt64
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    private let handle: FileHandle
    public private(set) var entries: [Entry] = []

    public init(path: String) throws {
        handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        let length = try handle.seekToEnd()
        let tail = min(length, 65_557)
        try handle.seek(toOffset: length - tail)
        let end = [UInt8](try handle.read(upToCount: Int(tail)) ?? Data())
        guard let eocd = stride(from: end.count - 22, through: 0, by: -1).first(where: { at in
            end[at] == 0x50 && end[at + 1] == 0x4b && end[at + 2] == 0x05 && end[at + 3] == 0x06
        }) else { throw Invalid(description: "not a ZIP archive") }
        let count = Int(u16(end, eocd + 10))
        let directoryOffset = UInt64(u32(end, eocd + 16))
        let directorySize = Int(u32(end, eocd + 12))
        try handle.seek(toOffset: directoryOffset)
        let directory = [UInt8](try handle.read(upToCount: directorySize) ?? Data())
        var at = 0
        for _ in 0..<count {
            guard at + 46 <= directory.count, u32(directory, at) == 0x0201_4b50 else { throw Invalid(description: "bad central directory") }
            guard u16(directory, at + 10) == 0 else { throw Invalid(description: "compressed entries are not read") }
            let nameLength = Int(u16(directory, at + 28))
            let skip = Int(u16(directory, at + 30)) + Int(u16(directory, at + 32))
            guard at + 46 + nameLength <= directory.count else { throw Invalid(description: "bad central directory") }
            let name = String(decoding: directory[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            entries.append(Entry(
                name: name, size: UInt64(u32(directory, at + 24)), crc: u32(directory, at + 16),
                localOffset: UInt64(u32(directory, at + 42))))
            at += 46 + nameLength + skip
        }
    }

    /// Up to `length` bytes of `entry` from `offset`.
    public func read(_ entry: Entry, offset: UInt64, length: Int) throws -> [UInt8] {
        try handle.seek(toOffset: entry.localOffset)
        let header = [UInt8](try handle.read(upToCount: 30) ?? Data())
        guard header.count == 30, u32(header, 0) == 0x0403_4b50 else { throw Invalid(description: "bad local header") }
        let start = entry.localOffset + 30 + UInt64(u16(header, 26)) + UInt64(u16(header, 28))
        let count = Int(min(UInt64(length), entry.size - min(offset, entry.size)))
        try handle.seek(toOffset: start + offset)
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }
}

private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
private func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
private func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }

/// CRC-32 (IEEE 802.3), as ZIP uses it.
public struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    private var crc: UInt32 = 0xFFFF_FFFF

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        var crc = self.crc
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer { crc = Self.table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        self.crc = crc
    }

    public var value: UInt32 { crc ^ 0xFFFF_FFFF }
}
