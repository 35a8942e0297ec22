import Crypto
import DossierCore
import Foundation

/// The Ed25519 key that signs access-log checkpoints. Loaded from a file holding the 32-byte
/// private key as 64 hex digits; a development server without a configured file creates one in
/// its data directory on first start (0600), so that checkpoints stay verifiable across restarts.
public struct LogSigningKeys: LogSigner {
    private let privateKey: Curve25519.Signing.PrivateKey
    public let currentKeyID: String
    public let keys: [LogSigningKey]

    public init(privateKey: Curve25519.Signing.PrivateKey, validFrom: Date) {
        self.privateKey = privateKey
        let publicKey = [UInt8](privateKey.publicKey.rawRepresentation)
        currentKeyID = "ed25519-" + SHA256.hash(data: publicKey).prefix(8).map { String(format: "%02x", $0) }.joined()
        keys = [LogSigningKey(keyID: currentKeyID, algorithm: "ed25519", publicKey: publicKey, validFrom: validFrom, validUntil: nil)]
    }

    /// Reads the key at `path`, creating it first when `create` and the file does not exist.
    public static func load(path: String, create: Bool) throws -> LogSigningKeys {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard create else { throw ServerStartupError("the log signing key \(path) does not exist") }
            let key = Curve25519.Signing.PrivateKey()
            let hex = key.rawRepresentation.map { String(format: "%02x", $0) }.joined() + "\n"
            guard manager.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ServerStartupError("cannot create the log signing key \(path)")
            }
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ServerStartupError("cannot read the log signing key \(path)")
        }
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), let byte = UInt8(hex[index..<next], radix: 16) {
            bytes.append(byte)
            index = next
        }
        guard bytes.count == 32, index == hex.endIndex, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            throw ServerStartupError("the log signing key \(path) must hold 64 hex digits (an Ed25519 private key)")
        }
        let created = (try? manager.attributesOfItem(atPath: path)[.creationDate] as? Date) ?? nil
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
