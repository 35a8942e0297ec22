import Crypto
import DossierCore
import DossierStore
import Foundation

/// The Ed25519 key that signs access-log checkpoints, loaded from a file holding the 32-byte
/// private key as 64 hex digits (`make certs` makes a development one).
public struct LogSigningKeys: LogSigner {
    private let privateKey: Curve25519.Signing.PrivateKey
    public let currentKeyID: String
    public let keys: [LogSigningKey]

    public init(privateKey: Curve25519.Signing.PrivateKey, validFrom: Date) {
        self.privateKey = privateKey
        let publicKey = [UInt8](privateKey.publicKey.rawRepresentation)
        currentKeyID = "ed25519-" + SHA256.hash(data: publicKey).prefix(8).hex
        keys = [LogSigningKey(keyID: currentKeyID, algorithm: "ed25519", publicKey: publicKey, validFrom: validFrom, validUntil: nil)]
    }

    /// Reads the key at `path` (64 hex digits; KeyFile). The server never creates it.
    public static func load(path: String, allowOpenPermissions: Bool = false) throws -> LogSigningKeys {
        let bytes = try KeyFile.read(path, what: "the log-signing key", allowOpenPermissions: allowOpenPermissions)
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw ServerStartupError("the log-signing key \(path) must hold 64 hex digits (an Ed25519 private key)")
        }
        let created = (try? FileManager.default.attributesOfItem(atPath: path)[.creationDate] as? Date) ?? nil
        return LogSigningKeys(privateKey: key, validFrom: created ?? Date())
    }

    public func sign(_ text: [UInt8]) throws -> [UInt8] {
        [UInt8](try privateKey.signature(for: text))
    }

    public func isValid(_ signature: [UInt8], of text: [UInt8], keyID: String) -> Bool {
        guard let key = keys.first(where: { $0.keyID == keyID }),
            let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey)
        else { return false }
        return publicKey.isValidSignature(signature, for: text)
    }

    @Sendable public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](SHA256.hash(data: bytes))
    }
}
