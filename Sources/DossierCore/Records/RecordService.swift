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
        return try await perform(.activate, on: patient, by: caller, now: now) { tx in
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
        return try await perform(.close, on: patient, by: caller, now: now, settings: { settings in
            Self.endTemporaryAccesses(in: &settings, by: caller, at: now)
        }) { tx in
            try RecordLifecycle.close(
                try Self.existing(tx), byOperator: caller.kind == .operator, at: now, policy: policy)
        }
    }

    /// Closing ends every professional access at once. Grants the patient made (and the
    /// referring physician) are only suspended while the record is closed and return when it
    /// is reopened; emergency accesses and presence-code accesses end for good, and an
    /// unredeemed presence code stops working: a reopened record does not revive them.
    static func endTemporaryAccesses(in settings: inout RecordAccessSettings, by caller: Principal, at now: Date) {
        for index in settings.grants.indices
        where settings.grants[index].basis != .grant && settings.grants[index].state(at: now) == .active {
            settings.grants[index].revokedAt = now
            settings.grants[index].revokedBy = caller
        }
        settings.presenceCode = nil
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
        try RecordOperationRunner.existing(tx)
    }

    /// Authorizes `operation`, runs `transition` on the current record and stages the result.
    private func perform(
        _ operation: RecordOperation, on patient: PatientID, by caller: Principal, now: Date,
        mutates: Bool = true, settings change: (@Sendable (inout RecordAccessSettings) -> Void)? = nil,
        transition: @escaping @Sendable (RecordTransaction) throws -> Record
    ) async throws -> Record {
        try await RecordOperationRunner(repository: repository).perform(
            LoggedOperation(operation), on: patient, by: caller, at: now,
            authorize: { relation, state in RecordAuthorization.decide(operation, relation: relation, state: state) },
            body: { tx, _ in
                let record = try transition(tx)
                if mutates { tx.updated = record }
                if let change {
                    var settings = tx.effectiveSettings
                    change(&settings)
                    if settings != tx.effectiveSettings { tx.updatedSettings = settings }
                }
                return record
            })
    }
}
