import Foundation

/// The lifecycle transitions of a record, as pure functions of the record and the time.
public enum RecordLifecycle {
    /// A record opened by an operator, in bulk or one by one.
    public static func open(
        _ patient: PatientID, enrollment: Enrollment, by channel: OpeningChannel,
        withObjectionPeriod: Bool, at now: Date, policy: RecordPolicy
    ) -> Record {
        if withObjectionPeriod {
            let end = now.addingTimeInterval(policy.objectionPeriod)
            return Record(
                patientID: patient, storedState: .pending, enrollment: enrollment, openedBy: channel,
                openedAt: now, objectionPeriodEndsAt: end, activeSince: end)
        }
        return Record(
            patientID: patient, storedState: .active, enrollment: enrollment, openedBy: channel,
            openedAt: now, activeSince: now)
    }

    /// The patient activates their record: creates it active, or ends a running objection period.
    public static func activate(
        _ record: Record?, patient: PatientID, enrollment: Enrollment, at now: Date
    ) throws -> Record {
        guard var record else {
            return Record(
                patientID: patient, storedState: .active, enrollment: enrollment, openedBy: .patient,
                openedAt: now, activeSince: now)
        }
        switch record.state(at: now) {
        case .closed:
            throw DossierError(
                .failedPrecondition, "the record is closed; reopen it instead", reason: "RECORD_CLOSED")
        case .active where record.storedState == .active:
            throw DossierError(.failedPrecondition, "the record is already active", reason: "RECORD_ACTIVE")
        case .pending, .active:
            // Pending, or pending with its objection period over: the patient confirms now.
            record.storedState = .active
            record.activeSince = min(record.activeSince ?? now, now)
            record.enrollment = enrollment
            record.version += 1
            return record
        }
    }

    /// Closes a record. Closing a pending record is the patient's objection.
    public static func close(
        _ record: Record, byOperator: Bool, at now: Date, policy: RecordPolicy
    ) throws -> Record {
        let state = record.state(at: now)
        guard state != .closed else {
            throw DossierError(.failedPrecondition, "the record is already closed", reason: "RECORD_CLOSED")
        }
        var closed = record
        closed.storedState = .closed
        closed.closedAt = now
        closed.closureReason =
            byOperator ? .operatorOnRequest : (state == .pending ? .objection : .patientRequest)
        closed.purgeAfter = now.addingTimeInterval(policy.retentionPeriod)
        closed.version += 1
        return closed
    }

    /// Reopens a closed record, unless its deletion was requested.
    public static func reopen(_ record: Record, at now: Date) throws -> Record {
        guard record.state(at: now) == .closed else {
            throw DossierError(.failedPrecondition, "the record is not closed", reason: "RECORD_NOT_CLOSED")
        }
        guard record.deletionRequestedAt == nil else {
            throw DossierError(
                .failedPrecondition, "the record's deletion was requested; it cannot be reopened",
                reason: "DELETION_REQUESTED")
        }
        var reopened = record
        reopened.storedState = .active
        reopened.activeSince = now
        reopened.objectionPeriodEndsAt = nil
        reopened.closedAt = nil
        reopened.closureReason = nil
        reopened.purgeAfter = nil
        reopened.version += 1
        return reopened
    }

    /// The patient asks for a closed record to be purged now rather than after the retention period.
    public static func requestDeletion(_ record: Record, at now: Date) throws -> Record {
        guard record.state(at: now) == .closed else {
            throw DossierError(
                .failedPrecondition, "only a closed record can be deleted; close it first",
                reason: "RECORD_NOT_CLOSED")
        }
        guard record.deletionRequestedAt == nil else {
            throw DossierError(
                .failedPrecondition, "deletion was already requested", reason: "DELETION_REQUESTED")
        }
        var marked = record
        marked.deletionRequestedAt = now
        marked.purgeAfter = now
        marked.version += 1
        return marked
    }
}
