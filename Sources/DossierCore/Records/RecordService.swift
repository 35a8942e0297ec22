import Foundation

/// The record-lifecycle use cases: authorize, transition, log — one atomic commit per call.
///
/// Denied attempts on an existing record are logged like any other operation, and the log
/// entry is durable before the caller gets the answer.
public struct RecordService: Sendable {
    public let repository: any RecordRepository
    public let policy: RecordPolicy
    public let clock: @Sendable () -> Date

    public init(
        repository: any RecordRepository, policy: RecordPolicy,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.policy = policy
        self.clock = clock
    }

    /// Opens one record (operator).
    public func open(
        _ patient: PatientID, enrollment: Enrollment, withObjectionPeriod: Bool, by caller: Principal
    ) async throws -> Record {
        let now = clock()
        let policy = self.policy
        return try await perform(.open, on: patient, by: caller, now: now) { tx in
            guard tx.current == nil else {
                throw DossierError(.alreadyExists, "the person already has a record", reason: "RECORD_EXISTS")
            }
            return RecordLifecycle.open(
                patient, enrollment: enrollment, by: .operator, withObjectionPeriod: withObjectionPeriod,
                at: now, policy: policy)
        }
    }

    /// The patient (or delegate) activates the record, creating it if needed.
    public func activate(_ patient: PatientID, enrollment: Enrollment, by caller: Principal) async throws -> Record {
        let now = clock()
        return try await perform(.activate, on: patient, by: caller, now: now, creates: true) { tx in
            try RecordLifecycle.activate(tx.current, patient: patient, enrollment: enrollment, at: now)
        }
    }

    /// Reads a record's lifecycle state.
    public func read(_ patient: PatientID, by caller: Principal) async throws -> Record {
        let now = clock()
        return try await perform(.read, on: patient, by: caller, now: now, mutates: false) { tx in
            try Self.existing(tx)
        }
    }

    public func close(_ patient: PatientID, by caller: Principal) async throws -> Record {
        let now = clock()
        let policy = self.policy
        return try await perform(.close, on: patient, by: caller, now: now) { tx in
            try RecordLifecycle.close(
                try Self.existing(tx), byOperator: caller.kind == .operator, at: now, policy: policy)
        }
    }

    public func reopen(_ patient: PatientID, by caller: Principal) async throws -> Record {
        let now = clock()
        return try await perform(.reopen, on: patient, by: caller, now: now) { tx in
            try RecordLifecycle.reopen(try Self.existing(tx), at: now)
        }
    }

    public func requestDeletion(_ patient: PatientID, by caller: Principal) async throws -> Record {
        let now = clock()
        return try await perform(.requestDeletion, on: patient, by: caller, now: now) { tx in
            try RecordLifecycle.requestDeletion(try Self.existing(tx), at: now)
        }
    }

    // MARK: - One authorized, logged, atomic operation

    private static func existing(_ tx: RecordTransaction) throws -> Record {
        guard let record = tx.current else {
            throw DossierError(.notFound, "no record for this patient", reason: "RECORD_NOT_FOUND")
        }
        return record
    }

    /// Authorizes `operation`, runs `transition` on the current record, stages the result and
    /// one log entry (success, denied or failed), commits, and returns or throws.
    private func perform(
        _ operation: RecordOperation, on patient: PatientID, by caller: Principal, now: Date,
        creates: Bool = false, mutates: Bool = true,
        transition: @escaping @Sendable (RecordTransaction) throws -> Record
    ) async throws -> Record {
        let result: Result<Record, DossierError> = try await repository.transact(patient) { tx in
            let relation = RecordRelation.of(caller, to: patient, record: tx.current, delegates: tx.delegates)
            let decision = RecordAuthorization.decide(
                operation, relation: relation, state: tx.current?.state(at: now))
            let logged = LoggedOperation(operation)
            guard case .allowed(let basis) = decision else {
                if case .denied(let reason) = decision {
                    tx.log(AccessLogEntry(time: now, actor: caller, basis: .none, operation: logged, outcome: .denied, reason: reason))
                }
                // Existence is not revealed to callers without a relationship.
                return .failure(.permissionDenied())
            }
            do {
                let record = try transition(tx)
                if mutates { tx.updated = record }
                tx.log(AccessLogEntry(time: now, actor: caller, basis: basis, operation: logged, outcome: .success))
                return .success(record)
            } catch let error as DossierError {
                if tx.current != nil || creates {
                    tx.log(AccessLogEntry(
                        time: now, actor: caller, basis: basis, operation: logged, outcome: .failed,
                        reason: error.reason ?? "failed"))
                }
                return .failure(error)
            }
        }
        return try result.get()
    }
}
