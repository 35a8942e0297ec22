import DossierCore
import Foundation

/// Stored times are Unix microseconds; 0 means "not set".
enum Time {
    static func micros(_ date: Date?) -> Int64 {
        guard let date else { return 0 }
        return Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ micros: Int64) -> Date? {
        micros == 0 ? nil : Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}

/// Principals as stored in log entries, grants and blocks.
enum ActorCodec {
    static func encode(_ principal: Principal) -> Dossier_Storage_V1_StoredActor {
        var stored = Dossier_Storage_V1_StoredActor()
        stored.kind = principal.kind.rawValue
        stored.id = principal.id
        stored.profession = principal.profession ?? ""
        stored.organisation = principal.organisation ?? ""
        stored.displayName = principal.displayName
        stored.certificateSerial = principal.certificateSerial
        return stored
    }

    static func decode(_ stored: Dossier_Storage_V1_StoredActor) throws -> Principal {
        guard let kind = PrincipalKind(rawValue: stored.kind) else { throw CorruptValueError(family: "actor") }
        return Principal(
            kind: kind, id: stored.id, profession: stored.profession.nilIfEmpty, organisation: stored.organisation.nilIfEmpty,
            displayName: stored.displayName, certificateSerial: stored.certificateSerial)
    }
}
