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
        stored.openedAtUs = Time.micros(record.openedAt)
        stored.objectionPeriodEndsAtUs = Time.micros(record.objectionPeriodEndsAt)
        stored.activeSinceUs = Time.micros(record.activeSince)
        stored.closedAtUs = Time.micros(record.closedAt)
        stored.closureReason = record.closureReason.map { closures[$0]! } ?? 0
        stored.purgeAfterUs = Time.micros(record.purgeAfter)
        stored.deletionRequestedAtUs = Time.micros(record.deletionRequestedAt)
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
            openedAt: Time.date(stored.openedAtUs) ?? Date(timeIntervalSince1970: 0),
            objectionPeriodEndsAt: Time.date(stored.objectionPeriodEndsAtUs),
            activeSince: Time.date(stored.activeSinceUs), closedAt: Time.date(stored.closedAtUs),
            closureReason: closures.first(where: { $0.value == stored.closureReason })?.key,
            purgeAfter: Time.date(stored.purgeAfterUs), deletionRequestedAt: Time.date(stored.deletionRequestedAtUs),
            version: stored.version)
    }

    static func encode(_ entry: AccessLogEntry, sequence: UInt64, prevHash: [UInt8], entryHash: [UInt8]) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredLogEntry()
        stored.prevHash = Data(prevHash)
        stored.entryHash = Data(entryHash)
        stored.sequence = sequence
        stored.timeUs = Time.micros(entry.time)
        stored.actor = ActorCodec.encode(entry.actor)
        stored.basis = entry.basis.rawValue
        stored.operation = entry.operation.rawValue
        stored.documentIds = entry.documentIDs
        stored.outcome = entry.outcome.rawValue
        stored.reason = entry.reason
        stored.emergency = entry.emergency
        stored.emergencyReason = entry.details.emergencyReason
        stored.subjectKind = entry.details.subject?.kind.rawValue ?? ""
        stored.subjectID = entry.details.subject?.id ?? ""
        stored.grantID = entry.details.grantID
        stored.requestID = entry.requestID
        return try stored.serializedBytes()
    }

    static func decodeLogEntry(_ bytes: [UInt8]) throws -> (sequence: UInt64, entry: AccessLogEntry) {
        let link = try decodeLogLink(bytes)
        return (link.sequence, link.entry)
    }

    static func decodeLogLink(_ bytes: [UInt8]) throws -> (sequence: UInt64, entry: AccessLogEntry, prevHash: [UInt8], entryHash: [UInt8]) {
        let stored = try Dossier_Storage_V1_StoredLogEntry(serializedBytes: bytes)
        guard let basis = AccessBasis(rawValue: stored.basis),
            let operation = LoggedOperation(rawValue: stored.operation),
            let outcome = AccessOutcome(rawValue: stored.outcome)
        else { throw CorruptValueError(family: Keys.Family.accessLog) }
        let actor = try ActorCodec.decode(stored.actor)
        var subject: LoggedPrincipal?
        if !stored.subjectKind.isEmpty {
            guard let kind = PrincipalKind(rawValue: stored.subjectKind) else { throw CorruptValueError(family: Keys.Family.accessLog) }
            subject = LoggedPrincipal(kind: kind, id: stored.subjectID)
        }
        let entry = AccessLogEntry(
            time: Time.date(stored.timeUs) ?? Date(timeIntervalSince1970: 0), actor: actor, basis: basis,
            operation: operation, documentIDs: stored.documentIds, outcome: outcome, reason: stored.reason,
            emergency: stored.emergency,
            details: LogDetails(subject: subject, grantID: stored.grantID, emergencyReason: stored.emergencyReason),
            requestID: stored.requestID)
        return (stored.sequence, entry, [UInt8](stored.prevHash), [UInt8](stored.entryHash))
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
