import Foundation

/// Aggregate figures for the agency's operators: counts only, never identifiers or content.
public struct StatisticsService: Sendable {
    public struct Bucket: Sendable, Hashable {
        public let month: StatisticsMonth
        public let end: Date
        public let documentsDeposited: UInt64
        public let documentsAtEnd: UInt64
        public let events: [StatisticsEvent: UInt64]
    }

    public struct Report: Sendable {
        public let computedAt: Date
        public let counts: StoredCounts
        public let openedTotal: UInt64
        public let purged: UInt64
        public let closuresTotal: UInt64
        public let closureRate: Double
        public let buckets: [Bucket]
    }

    public static let maxBuckets = 120

    public let repository: any StatisticsRepository
    public let clock: @Sendable () -> Date

    public init(repository: any StatisticsRepository, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.clock = clock
    }

    /// Operators only. Months from the one containing `start` (default: 11 months before the
    /// end's) to the one containing `end` (exclusive; default now).
    public func report(from start: Date?, to end: Date?, by caller: Principal) async throws -> Report {
        guard caller.kind == .operator else { throw DossierError.permissionDenied() }
        let now = clock()
        let end = end ?? now
        if let start, end <= start {
            throw DossierError(.invalidArgument, "range_end must be after range_start", reason: "INVALID_RANGE", field: "range_end")
        }
        // The month containing the exclusive end is included unless the end is its first instant.
        var last = StatisticsMonth(containing: end)
        if last.start == end { last = StatisticsMonth(index: last.index - 1) }
        let first = start.map(StatisticsMonth.init(containing:)) ?? StatisticsMonth(index: last.index - 11)
        guard last.index - first.index + 1 <= Self.maxBuckets else {
            throw DossierError(
                .invalidArgument, "at most \(Self.maxBuckets) months per request", reason: "RANGE_TOO_LARGE", field: "range_start")
        }
        let counts = try await repository.countAll(at: now)
        var cumulative = counts.depositsByMonth.filter { $0.key < first }.values.reduce(0, +)
        var buckets: [Bucket] = []
        var month = first
        while month <= last {
            let deposited = counts.depositsByMonth[month] ?? 0
            cumulative += deposited
            buckets.append(Bucket(
                month: month, end: month.next.start, documentsDeposited: deposited, documentsAtEnd: cumulative,
                events: counts.eventsByMonth[month] ?? [:]))
            month = month.next
        }
        let purged = counts.eventsByMonth.values.reduce(0) { $0 + ($1[.purged] ?? 0) }
        let opened = counts.pendingRecords + counts.activeRecords + counts.closedRecords + purged
        let closures = counts.eventsByMonth.values.reduce(0) { $0 + ($1[.recordClosed] ?? 0) }
        return Report(
            computedAt: now, counts: counts, openedTotal: opened, purged: purged, closuresTotal: closures,
            closureRate: opened == 0 ? 0 : Double(counts.closedRecords + purged) / Double(opened), buckets: buckets)
    }
}
