import Foundation

/// Lifecycle settings of a deployment.
public struct RecordPolicy: Sendable, Hashable {
    /// How long a record opened in the opt-out model stays pending (Luxembourg: 30 days).
    public var objectionPeriod: TimeInterval
    /// How long a closed record is kept before it is purged (France: 10 years); never less
    /// than `minimumRetention`, since the purge deletes the record's access log too.
    public var retentionPeriod: TimeInterval
    /// The most entries one bulk opening may carry.
    public var maxBulkEnrollments: Int

    public init(
        objectionPeriod: TimeInterval = 30 * 86_400,
        retentionPeriod: TimeInterval = 10 * 365.25 * 86_400,
        maxBulkEnrollments: Int = 1_000
    ) {
        self.objectionPeriod = objectionPeriod
        self.retentionPeriod = max(retentionPeriod, Self.minimumRetention)
        self.maxBulkEnrollments = maxBulkEnrollments
    }

    /// Access-log entries are kept at least three years from each access (EHDS Art. 9(2)),
    /// after closure too: a closed record, log included, is not purged sooner than this after
    /// its closure, nor sooner than this after its last log entry (`PurgeService.isDue`). Only
    /// the patient's own deletion request purges earlier (docs/ACCESS-LOG.md, "Retention").
    public static let minimumLogRetention: TimeInterval = 1_095 * 86_400
    public static let minimumRetention: TimeInterval = minimumLogRetention
}
