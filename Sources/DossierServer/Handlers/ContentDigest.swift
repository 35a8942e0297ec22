import Crypto
import DossierCore

/// SHA-256 of document contents, incrementally (swift-crypto).
final class SHA256ContentHasher: ContentHasher {
    private var hasher = SHA256()

    func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }

    func finish() -> [UInt8] {
        Array(hasher.finalize())
    }

    static let factory: ContentHasherFactory = { SHA256ContentHasher() }
}
