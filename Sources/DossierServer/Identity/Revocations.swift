import DossierCore
import DossierStore
import Foundation
import NIOConcurrencyHelpers
import X509

/// Revoked client certificates: those revoked by operators (persisted) and those listed in the
/// configured CRL (verified, reloadable), checked on every call — so a revocation also ends what
/// an open connection may do, at once.
final class Revocations: Sendable {
    private let store: DossierStore
    private let revoked: NIOLockedValueBox<[String: CertificateRevocation]>
    private let crlPath: String?
    private let authorities: [Certificate]
    private let crl = NIOLockedValueBox<RevocationList?>(nil)
    /// A class holds the closure (a closure stored directly in a generic box gains
    /// reabstraction thunks on every `inout` access; see TransportCounters).
    private final class Listener: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    private let changed = NIOLockedValueBox<Listener?>(nil)

    /// Called after each new revocation and CRL load (the server closes revoked connections).
    func onChange(_ body: @escaping @Sendable () -> Void) {
        let listener = Listener(body)
        changed.withLockedValue { $0 = listener }
    }

    private func notifyChange() {
        changed.withLockedValue { $0 }?.body()
    }

    /// Fails when the configured CRL is unreadable, not signed by a client CA, or expired.
    init(store: DossierStore, crlPath: String?, authorities: [Certificate]) throws {
        self.store = store
        self.crlPath = crlPath
        self.authorities = authorities
        revoked = NIOLockedValueBox(Dictionary(try store.loadRevocations().map { ($0.serial, $0) }, uniquingKeysWith: { first, _ in first }))
        if crlPath != nil { _ = try reloadCRL() }
    }

    /// `serial` as the certificate carries it (raw INTEGER bytes).
    func isRevoked(serialBytes serial: [UInt8]) -> Bool {
        isRevoked(CertificateProfile.serial(serial))
    }

    func isRevoked(_ serial: String) -> Bool {
        revoked.withLockedValue { $0[serial] != nil } || crl.withLockedValue { $0?.entries[serial] != nil }
    }

    /// The CRL in force, if one is configured.
    var revocationList: RevocationList? { crl.withLockedValue { $0 } }

    /// Reads and verifies the configured CRL again; on any error the one in force stays.
    func reloadCRL(now: Date = Date()) throws -> RevocationList {
        guard let crlPath else {
            throw DossierError(.failedPrecondition, "no CRL is configured (dossierd --crl)", reason: "NO_CRL")
        }
        do {
            let list = try RevocationList.load(path: crlPath, authorities: authorities, now: now)
            crl.withLockedValue { $0 = list }
            notifyChange()
            return list
        } catch let invalid as RevocationList.Invalid {
            throw DossierError(.failedPrecondition, invalid.description, reason: invalid.expired ? "CRL_EXPIRED" : "CRL_INVALID")
        }
    }

    /// Every revoked serial with its source, ordered by serial.
    func all(by caller: Principal) throws -> [(serial: String, revokedAt: Date, fromCRL: Bool, revocation: CertificateRevocation?)] {
        guard caller.kind == .operator else { throw DossierError.permissionDenied() }
        var items: [String: (serial: String, revokedAt: Date, fromCRL: Bool, revocation: CertificateRevocation?)] = [:]
        for entry in crl.withLockedValue({ $0?.entries.values.map { $0 } ?? [] }) {
            items[entry.serial] = (entry.serial, entry.revokedAt, true, nil)
        }
        for revocation in revoked.withLockedValue({ Array($0.values) }) {
            items[revocation.serial] = (revocation.serial, revocation.revokedAt, false, revocation)
        }
        return items.values.sorted { $0.serial < $1.serial }
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
        notifyChange()
        return (revocation, true)
    }

    /// The serial as CertificateProfile writes it (lower-case hex, no leading zero bytes), or
    /// nil when `text` is not hexadecimal.
    static func normalize(_ text: String) -> String? {
        var digits = text.lowercased().filter { $0 != ":" && !$0.isWhitespace }
        guard !digits.isEmpty, digits.count <= 128, digits.allSatisfy(\.isHexDigit) else { return nil }
        if digits.count % 2 == 1 { digits = "0" + digits }
        return [UInt8](hex: digits).map(CertificateProfile.serial)
    }
}
