import Foundation

/// Size limits and timings of documents in a deployment.
public struct DocumentPolicy: Sendable, Hashable {
    /// Largest content deposited in one call (DepositDocument, ReplaceDocument): 3 MiB.
    public var maxInlineContent: Int = 3 << 20
    /// Largest content of any document (through an upload).
    public var maxDocumentSize: UInt64 = 128 << 20
    /// Largest upload chunk and largest read: 1 MiB.
    public var maxChunk: Int = 1 << 20
    /// An open upload idle this long is gone; a completed one is kept this long for retries.
    public var uploadIdleTimeout: TimeInterval = 24 * 3_600
    /// Open upload sessions per caller and record.
    public var maxOpenUploads: Int = 8
    /// How long a chunk sent ahead of the committed size waits for the chunks before it.
    public var chunkOrderWait: Duration = .seconds(5)

    public init() {}
}

/// SHA-256, computed incrementally (injected: the domain knows no crypto library).
public protocol ContentHasher: AnyObject {
    func update(_ bytes: ArraySlice<UInt8>)
    func finish() -> [UInt8]
}

public typealias ContentHasherFactory = @Sendable () -> any ContentHasher

extension Sequence where Element == UInt8 {
    /// Lower-case hex, two digits per byte (on hot paths: no String(format:), which costs ~1 µs
    /// per byte).
    public var hex: String {
        let digits: StaticString = "0123456789abcdef"
        return digits.withUTF8Buffer { digits in
            var text: [UInt8] = []
            text.reserveCapacity(underestimatedCount * 2)
            for byte in self {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0f)])
            }
            return String(decoding: text, as: UTF8.self)
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes of an even number of hex digits, either case (nil for anything else): the one
    /// parser of hex text (key files, serial numbers).
    public init?(hex text: some StringProtocol) {
        let digits = Array<UInt8>(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self = bytes
    }
}
