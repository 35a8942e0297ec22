import Foundation

/// Filters of a log listing; all optional.
public struct AccessLogFilter: Sendable {
    public var since: Date?
    public var until: Date?
    public var actorID: String?
    public var operations: Set<LoggedOperation> = []
    public var outcomes: Set<AccessOutcome> = []
    public var emergencyOnly = false
    public var documentID: String?

    public init() {}

    public func matches(_ entry: AccessLogEntry) -> Bool {
        if let since, entry.time < since { return false }
        if let until, entry.time >= until { return false }
        if let actorID, entry.actor.id != actorID { return false }
        if !operations.isEmpty, !operations.contains(entry.operation) { return false }
        if !outcomes.isEmpty, !outcomes.contains(entry.outcome) { return false }
        if emergencyOnly, !entry.emergency { return false }
        if let documentID, !entry.documentIDs.contains(documentID) { return false }
        return true
    }
}

/// The patient's view of who did what on their record. Only the patient and their delegate
/// read the log; operators never see its content. Reading the log is itself logged.
public struct AccessLogService: Sendable {
    public let repository: any RecordRepository
    public let clock: @Sendable () -> Date

    public init(repository: any RecordRepository, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.clock = clock
    }

    public static func decide(_ relation: RecordRelation) -> AccessDecision {
        switch relation {
        case .patient: .allowed(.patient)
        case .delegate: .allowed(.delegate)
        case .none: .denied(reason: "NO_ACCESS")
        default: .denied(reason: "PATIENT_OR_DELEGATE_ONLY")
        }
    }

    /// One page of the log, newest first unless `oldestFirst`, after the cursor `after`.
    public func list(
        _ patient: PatientID, filter: AccessLogFilter, oldestFirst: Bool, after: UInt64?, limit: Int, by caller: Principal
    ) async throws -> [SequencedLogEntry] {
        let now = clock()
        try await RecordOperationRunner(repository: repository).perform(
            .listAccessLog, on: patient, by: caller, at: now, authorize: { relation, _ in Self.decide(relation) },
            body: { tx, _ in _ = try RecordOperationRunner.existing(tx) })
        return try await repository.readAccessLog(
            patient, AccessLogQuery(newestFirst: !oldestFirst, after: after, limit: limit, matches: filter.matches))
    }
}
