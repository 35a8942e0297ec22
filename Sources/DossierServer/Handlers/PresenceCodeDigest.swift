import Crypto
import DossierCore
import Foundation

/// The one-way digest of presence codes: SHA-256, lower-case hex. A code has ~40 bits of
/// entropy, so the digest alone does not protect against offline guessing; it keeps codes out of
/// backups and disk images in readable form, and codes live at most an hour.
enum PresenceCodeDigest {
    @Sendable static func sha256(_ code: String) -> String {
        SHA256.hash(data: Data(code.utf8)).hex
    }
}
