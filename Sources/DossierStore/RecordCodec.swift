import DossierCore
import Foundation

/// Domain values ⇄ their stored protobuf form.
enum RecordCodec {
    private static let states: [RecordState: UInt32] = [.pending: 1, .active: 2, .closed: 3]
    private static let channels: [OpeningChannel: UInt32] = [.bulk: 1, .operator: 2, .patient: 3]
    private static let closures: [ClosureReason: UInt32] = [.patientRequest: 1, .objection: 2, .operatorOnRequest: 3]

    static func encode(_ record: Record) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredRecord()
        stored.patientID = record.patientID.rawValue
        stored.state = states[record.storedState]!
        switch record.enrollment {
        case .volunteer:
            stored.enrollment = 1
        case .referringPhysician(let id):
            stored.enrollment = 2
            stored.referringPhysicianID = id
        }
        stored.openedBy = channels[record.openedBy]!
        stored.openedAtUs = micros(record.openedAt)
        stored.objectionPeriodEndsAtUs = micros(record.objectionPeriodEndsAt)
        stored.activeSinceUs = micros(record.activeSince)
        stored.closedAtUs = micros(record.closedAt)
        stored.closureReason = record.closureReason.map { closures[$0]! } ?? 0
        stored.purgeAfterUs = micros(record.purgeAfter)
        stored.deletionRequestedAtUs = micros(record.deletionRequestedAt)
        stored.version = record.version
        return try stored.serializedBytes()
    }

    static func decodeRecord(_ bytes: [UInt8]) throws -> Record {
        let stored = try Dossier_Storage_V1_StoredRecord(serializedBytes: bytes)
        guard let patient = PatientID(rawValue: stored.patientID),
            let state = states.first(where: { $0.value == stored.state })?.key,
            let channel = channels.first(where: { $0.value == stored.openedBy })?.key
        else { throw CorruptValueError(family: Keys.Family.records) }
        let enrollment: Enrollment =
            stored.enrollment == 2 ? .referringPhysician(id: stored.referringPhysicianID) : .volunteer
        return Record(
            patientID: patient, storedState: state, enrollment: enrollment, openedBy: channel,
            openedAt: date(stored.openedAtUs) ?? Date(timeIntervalSince1970: 0),
            objectionPeriodEndsAt: date(stored.objectionPeriodEndsAtUs),
            activeSince: date(stored.activeSinceUs), closedAt: date(stored.closedAtUs),
            closureReason: closures.first(where: { $0.value == stored.closureReason })?.key,
            purgeAfter: date(stored.purgeAfterUs), deletionRequestedAt: date(stored.deletionRequestedAtUs),
            version: stored.version)
    }

    static func encode(_ entry: AccessLogEntry, sequence: UInt64) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredLogEntry()
        stored.sequence = sequence
        stored.timeUs = micros(entry.time)
        stored.actor.kind = entry.actor.kind.rawValue
        stored.actor.id = entry.actor.id
        stored.actor.profession = entry.actor.profession ?? ""
        stored.actor.organisation = entry.actor.organisation ?? ""
        stored.actor.displayName = entry.actor.displayName
        stored.actor.certificateSerial = entry.actor.certificateSerial
        stored.basis = entry.basis.rawValue
        stored.operation = entry.operation.rawValue
        stored.documentIds = entry.documentIDs
        stored.outcome = entry.outcome.rawValue
        stored.reason = entry.reason
        stored.emergency = entry.emergency
        return try stored.serializedBytes()
    }

    static func decodeLogEntry(_ bytes: [UInt8]) throws -> (sequence: UInt64, entry: AccessLogEntry) {
        let stored = try Dossier_Storage_V1_StoredLogEntry(serializedBytes: bytes)
        guard let kind = PrincipalKind(rawValue: stored.actor.kind),
            let basis = AccessBasis(rawValue: stored.basis),
            let operation = LoggedOperation(rawValue: stored.operation),
            let outcome = AccessOutcome(rawValue: stored.outcome)
        else { throw CorruptValueError(family: Keys.Family.accessLog) }
        let actor = Principal(
            kind: kind, id: stored.actor.id, profession: stored.actor.profession.nilIfEmpty,
            organisation: stored.actor.organisation.nilIfEmpty, displayName: stored.actor.displayName,
            certificateSerial: stored.actor.certificateSerial)
        let entry = AccessLogEntry(
            time: date(stored.timeUs) ?? Date(timeIntervalSince1970: 0), actor: actor, basis: basis,
            operation: operation, documentIDs: stored.documentIds, outcome: outcome, reason: stored.reason,
            emergency: stored.emergency)
        return (stored.sequence, entry)
    }

    private static func micros(_ date: Date?) -> Int64 {
        guard let date else { return 0 }
        return Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    private static func date(_ micros: Int64) -> Date? {
        micros == 0 ? nil : Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}

/// A stored value that does not decode: storage corruption or a bug, never the caller's fault.
struct CorruptValueError: Error, CustomStringConvertible {
    let family: String
    var description: String { "undecodable value in column family \(family)" }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
