public import DossierCore
import Foundation

/// A client certificate revoked by an operator, as stored.
public struct CertificateRevocation: Sendable, Hashable {
    public let serial: String
    public let revokedAt: Date
    /// The API's RevocationReason number.
    public let reason: Int
    public let revokedBy: Principal
    public let note: String

    public init(serial: String, revokedAt: Date, reason: Int, revokedBy: Principal, note: String) {
        self.serial = serial
        self.revokedAt = revokedAt
        self.reason = reason
        self.revokedBy = revokedBy
        self.note = note
    }
}

/// Operators' revocations in `meta` ("r" ‖ serial), read once at start and kept in memory by
/// the server.
extension DossierStore {
    public func loadRevocations() throws -> [CertificateRevocation] {
        try engine.entries(withPrefix: [UInt8(ascii: "r")], in: .meta).map { entry in
            let stored = try Dossier_Storage_V1_StoredRevocation(serializedBytes: entry.value)
            return CertificateRevocation(
                serial: stored.serial, revokedAt: Time.date(stored.revokedAtUs) ?? Date(timeIntervalSince1970: 0),
                reason: Int(stored.reason), revokedBy: try ActorCodec.decode(stored.revokedBy), note: stored.note)
        }
    }

    /// Stores a revocation durably.
    public func save(_ revocation: CertificateRevocation) async throws {
        try await run { [self] in
            var stored = Dossier_Storage_V1_StoredRevocation()
            stored.serial = revocation.serial
            stored.revokedAtUs = Time.micros(revocation.revokedAt)
            stored.reason = UInt32(revocation.reason)
            stored.revokedBy = ActorCodec.encode(revocation.revokedBy)
            stored.note = revocation.note
            let bytes: [UInt8] = try stored.serializedBytes()
            try engine.put([UInt8(ascii: "r")] + Array(revocation.serial.utf8), bytes, in: .meta)
        }
    }
}
