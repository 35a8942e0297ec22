import Foundation

/// Lifecycle settings of a deployment.
public struct RecordPolicy: Sendable, Hashable {
    /// How long a record opened in the opt-out model stays pending (Luxembourg: 30 days).
    public var objectionPeriod: TimeInterval
    /// How long a closed record is kept before it is purged (France: 10 years).
    public var retentionPeriod: TimeInterval
    /// The most entries one bulk opening may carry.
    public var maxBulkEnrollments: Int

    public init(
        objectionPeriod: TimeInterval = 30 * 86_400,
        retentionPeriod: TimeInterval = 10 * 365.25 * 86_400,
        maxBulkEnrollments: Int = 1_000
    ) {
        self.objectionPeriod = objectionPeriod
        self.retentionPeriod = retentionPeriod
        self.maxBulkEnrollments = maxBulkEnrollments
    }
}
