import Foundation

/// Storage side of purging: listing closed records and deleting one irreversibly.
public protocol PurgeRepository: Sendable {
    /// Every CLOSED record (stored state) with the end of its retention.
    func closedRecords() async throws -> [(patient: PatientID, purgeAfter: Date?)]
    /// Deletes everything of the record — its data key first (crypto-shredding), then its
    /// data — if `isDue` still holds for it under the record's lock, given the time of its last
    /// access-log entry (nil: none). Returns whether it did.
    func purge(_ patient: PatientID, if isDue: @escaping @Sendable (Record, Date?) -> Bool) async throws -> Bool
    /// Makes deletions final on disk (flush and compaction), after a run of purges.
    func compactAfterPurge() async throws
}

/// Irreversible deletion of closed records past their retention period, and of those whose
/// patient asked for deletion (RequestDeletion sets the end of retention to that moment).
public struct PurgeService: Sendable {
    public let repository: any PurgeRepository
    public let clock: @Sendable () -> Date

    public init(repository: any PurgeRepository, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.clock = clock
    }

    /// A record is due when it is closed and its retention has ended, and — unless the patient
    /// asked for deletion — its last access-log entry is at least three years old: every entry
    /// is kept that long from its access (EHDS Art. 9(2)), also after closure.
    public static func isDue(_ record: Record, lastLogEntryAt: Date?, at now: Date) -> Bool {
        guard record.state(at: now) == .closed, let purgeAfter = record.purgeAfter, purgeAfter <= now else { return false }
        guard record.deletionRequestedAt == nil, let lastLogEntryAt else { return true }
        return lastLogEntryAt.addingTimeInterval(RecordPolicy.minimumLogRetention) <= now
    }

    public struct Run: Sendable, Hashable {
        public let purged: UInt64
        public let remainingDue: UInt64
        public let nextDueAt: Date?
    }

    /// Operators only (the periodic job calls `runDue` directly).
    public func run(dryRun: Bool, maxRecords: Int?, by caller: Principal) async throws -> Run {
        guard caller.kind == .operator else { throw DossierError.permissionDenied() }
        return try await runDue(dryRun: dryRun, maxRecords: maxRecords)
    }

    public func runDue(dryRun: Bool = false, maxRecords: Int? = nil) async throws -> Run {
        let now = clock()
        let closed = try await repository.closedRecords()
        let due = closed.filter { ($0.purgeAfter.map { $0 <= now }) ?? false }.map(\.patient)
        let next = closed.compactMap(\.purgeAfter).filter { $0 > now }.min()
        guard !dryRun else { return Run(purged: 0, remainingDue: UInt64(due.count), nextDueAt: next) }
        var purged: UInt64 = 0
        for patient in due.prefix(maxRecords ?? due.count)
        where try await repository.purge(patient, if: { Self.isDue($0, lastLogEntryAt: $1, at: now) }) {
            purged += 1
        }
        if purged > 0 { try await repository.compactAfterPurge() }
        return Run(purged: purged, remainingDue: UInt64(due.count) - min(UInt64(due.count), purged), nextDueAt: next)
    }
}
