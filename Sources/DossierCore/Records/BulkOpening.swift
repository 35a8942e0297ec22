import Foundation

/// The outcome of one entry of a bulk opening.
public enum BulkOpeningOutcome: Sendable, Hashable {
    case opened
    case alreadyExists
    /// The entry was invalid; `reason` is an ErrorDetail reason such as "INVALID_PATIENT_ID".
    case rejected(reason: String)
}

/// One valid entry of a bulk opening.
public struct BulkEnrollment: Sendable, Hashable {
    public let patientID: PatientID
    public let enrollment: Enrollment

    public init(patientID: PatientID, enrollment: Enrollment) {
        self.patientID = patientID
        self.enrollment = enrollment
    }
}

extension RecordService {
    /// Only operators open records in bulk (checked before any entry is looked at).
    public func checkBulkOpening(by caller: Principal) throws {
        let relation: RecordRelation = caller.kind == .operator ? .operator : .none
        guard RecordAuthorization.decide(.openBulk, relation: relation, state: nil).isAllowed else {
            throw DossierError.permissionDenied()
        }
    }

    /// Opens records in bulk (operator, opt-out model): every new record is pending for the
    /// objection period. One atomic commit for the whole batch. Returns one outcome per entry,
    /// in order, and the end of the objection period.
    public func openBulk(
        _ entries: [BulkEnrollment], by caller: Principal
    ) async throws -> (outcomes: [BulkOpeningOutcome], objectionPeriodEndsAt: Date) {
        let now = clock()
        let policy = self.policy
        guard !entries.isEmpty, entries.count <= policy.maxBulkEnrollments else {
            throw DossierError(
                .invalidArgument, "enrollments must hold 1 to \(policy.maxBulkEnrollments) entries",
                reason: "BULK_SIZE", field: "enrollments")
        }
        guard Set(entries.map(\.patientID)).count == entries.count else {
            throw DossierError(
                .invalidArgument, "a patient_id appears more than once", reason: "DUPLICATE_PATIENT_ID",
                field: "enrollments")
        }
        try checkBulkOpening(by: caller)
        let outcomes = try await repository.transact(entries.map(\.patientID)) { transactions in
            zip(entries.indices, entries).map { index, entry -> BulkOpeningOutcome in
                guard transactions[index].current == nil else { return .alreadyExists }
                transactions[index].updated = RecordLifecycle.open(
                    entry.patientID, enrollment: entry.enrollment, by: .bulk, withObjectionPeriod: true,
                    at: now, policy: policy)
                transactions[index].log(AccessLogEntry(
                    time: now, actor: caller, basis: .operator, operation: .openRecord, outcome: .success))
                return .opened
            }
        }
        return (outcomes, now.addingTimeInterval(policy.objectionPeriod))
    }
}
