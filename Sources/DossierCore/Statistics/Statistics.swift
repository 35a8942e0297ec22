import Foundation

/// A calendar month in UTC, as a count of months since year 0 (so months order and subtract).
public struct StatisticsMonth: Sendable, Hashable, Comparable {
    public let index: Int

    public init(index: Int) { self.index = index }

    /// The UTC month of `date`, by integer arithmetic on the days since 1970 (H. Hinnant's
    /// civil-from-days): every write that changes a figure names a month, and Calendar costs
    /// microseconds.
    public init(containing date: Date) {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 1e15 else {
            let components = Self.calendar.dateComponents([.year, .month], from: date)
            index = (components.year ?? 1970) * 12 + (components.month ?? 1) - 1
            return
        }
        let days = Int((seconds / 86_400).rounded(.down)) + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        index = year * 12 + month - 1
    }

    public var start: Date {
        Self.calendar.date(from: DateComponents(year: index / 12, month: index % 12 + 1, day: 1))!
    }

    public var next: StatisticsMonth { StatisticsMonth(index: index + 1) }

    /// "yyyymm", for storage keys.
    public var key: String {
        let year = String(index / 12)
        let month = index % 12 + 1
        return String(repeating: "0", count: max(0, 4 - year.count)) + year + (month < 10 ? "0" : "") + String(month)
    }

    public init?(key: String) {
        guard key.count == 6, let value = Int(key) else { return nil }
        index = value / 100 * 12 + value % 100 - 1
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// Events counted per month, recorded with the access-log entry that reports them.
public enum StatisticsEvent: String, Sendable, Hashable, CaseIterable {
    case recordOpened, recordClosed, recordReopened, grantCreated, presenceCodeRedeemed, emergencyAccess
    /// A record purged (written by the purge, not by a log entry: the log goes with the record).
    case purged

    /// The event a successful log entry reports, if any.
    public init?(_ entry: AccessLogEntry) {
        guard entry.outcome == .success else { return nil }
        switch entry.operation {
        case .openRecord: self = .recordOpened
        case .closeRecord: self = .recordClosed
        case .reopenRecord: self = .recordReopened
        case .grantAccess: self = .grantCreated
        case .redeemPresenceCode: self = .presenceCodeRedeemed
        case .openEmergencyAccess: self = .emergencyAccess
        default: return nil
        }
    }
}

/// What the store counts for statistics: current figures and per-month histograms. No
/// identifiers.
public struct StoredCounts: Sendable, Hashable {
    public var pendingRecords: UInt64 = 0
    public var activeRecords: UInt64 = 0
    public var closedRecords: UInt64 = 0
    public var recordsWithReferringPhysician: UInt64 = 0
    public var documents: UInt64 = 0
    public var currentDocuments: UInt64 = 0
    public var deprecatedDocuments: UInt64 = 0
    public var patientSpaceDocuments: UInt64 = 0
    public var contentBytes: UInt64 = 0
    public var currentByClass: [DocumentClass: UInt64] = [:]
    public var activeGrants: UInt64 = 0
    public var activeExtendedGrants: UInt64 = 0
    public var activeReadWriteGrants: UInt64 = 0
    public var activeOrganisationGrants: UInt64 = 0
    public var activePresenceCodeAccesses: UInt64 = 0
    public var activeEmergencyAccesses: UInt64 = 0
    public var recordsWithDelegates: UInt64 = 0
    public var depositsByMonth: [StatisticsMonth: UInt64] = [:]
    public var eventsByMonth: [StatisticsMonth: [StatisticsEvent: UInt64]] = [:]

    public init() {}

    /// Adds what one record holds (records are counted one at a time by the store).
    public mutating func add(record: Record, settings: RecordAccessSettings, at now: Date) {
        switch record.state(at: now) {
        case .pending: pendingRecords += 1
        case .active: activeRecords += 1
        case .closed: closedRecords += 1
        }
        if record.enrollment.referringPhysicianID != nil { recordsWithReferringPhysician += 1 }
        for grant in settings.grants where grant.state(at: now) == .active {
            switch grant.basis {
            case .grant:
                activeGrants += 1
                if grant.scope == .extended { activeExtendedGrants += 1 }
                if grant.mode == .readWrite { activeReadWriteGrants += 1 }
                if grant.grantee.kind == .organisation { activeOrganisationGrants += 1 }
            case .presenceCode: activePresenceCodeAccesses += 1
            case .emergency: activeEmergencyAccesses += 1
            }
        }
        if !settings.activeDelegates(at: now).isEmpty { recordsWithDelegates += 1 }
    }

    public mutating func add(document: Document) {
        documents += 1
        contentBytes += document.sizeBytes
        if document.patientSpace { patientSpaceDocuments += 1 }
        switch document.status {
        case .current:
            currentDocuments += 1
            currentByClass[document.documentClass, default: 0] += 1
        case .deprecated:
            deprecatedDocuments += 1
        }
        depositsByMonth[StatisticsMonth(containing: document.depositedAt), default: 0] += 1
    }
}

public protocol StatisticsRepository: Sendable {
    /// Counts everything at `now` (a consistent snapshot of the store).
    func countAll(at now: Date) async throws -> StoredCounts
}
