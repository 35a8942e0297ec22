import DossierCore
import DossierStore
import Foundation
import NIOConcurrencyHelpers

/// Client certificates revoked by operators: persisted, loaded at start, checked on every call
/// (so a revocation also ends what an open connection may do, at once).
final class Revocations: Sendable {
    private let store: DossierStore
    private let revoked: NIOLockedValueBox<[String: CertificateRevocation]>

    init(store: DossierStore) throws {
        self.store = store
        revoked = NIOLockedValueBox(Dictionary(try store.loadRevocations().map { ($0.serial, $0) }, uniquingKeysWith: { first, _ in first }))
    }

    func isRevoked(_ serial: String) -> Bool {
        revoked.withLockedValue { $0[serial] != nil }
    }

    /// Revokes `serial` (any hex form); an already revoked serial returns the existing entry.
    func revoke(_ serial: String, reason: Int, note: String, by caller: Principal, at now: Date) async throws -> (CertificateRevocation, Bool) {
        guard caller.kind == .operator else { throw DossierError.permissionDenied() }
        guard let normalized = Self.normalize(serial) else {
            throw DossierError(.invalidArgument, "serial must be hexadecimal (':' separators allowed)", reason: "INVALID_SERIAL", field: "serial")
        }
        guard note.count <= 200 else {
            throw DossierError(.invalidArgument, "note must be at most 200 characters", reason: "NOTE_TOO_LONG", field: "note")
        }
        if let existing = revoked.withLockedValue({ $0[normalized] }) { return (existing, false) }
        let revocation = CertificateRevocation(serial: normalized, revokedAt: now, reason: reason, revokedBy: caller, note: note)
        try await store.save(revocation)
        revoked.withLockedValue { $0[normalized] = revocation }
        return (revocation, true)
    }

    func list(by caller: Principal) throws -> [CertificateRevocation] {
        guard caller.kind == .operator else { throw DossierError.permissionDenied() }
        return revoked.withLockedValue { Array($0.values) }.sorted { $0.serial < $1.serial }
    }

    /// The serial as CertificateProfile writes it (lower-case hex, no leading zero bytes), or
    /// nil when `text` is not hexadecimal.
    static func normalize(_ text: String) -> String? {
        var digits = text.lowercased().filter { $0 != ":" && !$0.isWhitespace }
        guard !digits.isEmpty, digits.count <= 128, digits.allSatisfy(\.isHexDigit) else { return nil }
        if digits.count % 2 == 1 { digits = "0" + digits }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            bytes.append(UInt8(digits[index..<next], radix: 16)!)
            index = next
        }
        return CertificateProfile.serial(bytes)
    }
}
