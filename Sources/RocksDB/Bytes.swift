#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// A valid address for empty keys and values, so RocksDB never sees a null pointer
/// (Swift gives empty buffers a nil base address).
nonisolated(unsafe) private let emptyBytes = UnsafeMutablePointer<CChar>.allocate(capacity: 1)

extension UnsafeRawBufferPointer {
    /// The bytes as the `(const char*, size_t)` pair the C API takes.
    var cBytes: (pointer: UnsafePointer<CChar>, count: Int) {
        guard let baseAddress, count > 0 else { return (UnsafePointer(emptyBytes), 0) }
        return (baseAddress.assumingMemoryBound(to: CChar.self), count)
    }
}

extension ContiguousBytes {
    /// Calls `body` with the bytes as a `(const char*, size_t)` pair, without copying.
    func withCBytes<Result>(
        _ body: (UnsafePointer<CChar>, Int) throws -> Result
    ) rethrows -> Result {
        try withUnsafeBytes { buffer in
            let bytes = buffer.cBytes
            return try body(bytes.pointer, bytes.count)
        }
    }

    /// A copy of the bytes.
    var byteArray: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}
