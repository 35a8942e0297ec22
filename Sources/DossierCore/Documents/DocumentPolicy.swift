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
