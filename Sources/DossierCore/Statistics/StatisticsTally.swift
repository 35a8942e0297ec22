import Foundation

/// One figure the store counts (decision 0010).
public enum StatisticsCounter: Sendable, Hashable {
    case pendingRecords, activeRecords, closedRecords, recordsWithReferringPhysician
    case documents, currentDocuments, deprecatedDocuments, patientSpaceDocuments, contentBytes
    case currentOfClass(DocumentClass)
    case activeGrants, activeExtendedGrants, activeReadWriteGrants, activeOrganisationGrants
    case activePresenceCodeAccesses, activeEmergencyAccesses, recordsWithDelegates
    case depositedIn(StatisticsMonth)
    case event(StatisticsMonth, StatisticsEvent)
    /// Not a figure: the purges whose keys the key store destroyed, as the data recorded them,
    /// so that the store notices data restored from a backup older than its keys (decision 0010).
    case keyStorePurges

    /// A stable name, for storage: "activeGrants", "class/labResult", "deposits/202612",
    /// "event/202612/recordOpened".
    public var name: String {
        switch self {
        case .currentOfClass(let documentClass): "class/\(documentClass.rawValue)"
        case .depositedIn(let month): "deposits/\(month.key)"
        case .event(let month, let event): "event/\(month.key)/\(event.rawValue)"
        default: Self.scalarNames[self]!
        }
    }

    public init?(name: String) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            guard let counter = Self.scalars[name] else { return nil }
            self = counter
        case 2 where parts[0] == "class":
            guard let documentClass = DocumentClass(rawValue: parts[1]) else { return nil }
            self = .currentOfClass(documentClass)
        case 2 where parts[0] == "deposits":
            guard let month = StatisticsMonth(key: parts[1]) else { return nil }
            self = .depositedIn(month)
        case 3 where parts[0] == "event":
            guard let month = StatisticsMonth(key: parts[1]), let event = StatisticsEvent(rawValue: parts[2]) else { return nil }
            self = .event(month, event)
        default:
            return nil
        }
    }

    private static let scalars: [String: StatisticsCounter] = [
        "pendingRecords": .pendingRecords, "activeRecords": .activeRecords, "closedRecords": .closedRecords,
        "recordsWithReferringPhysician": .recordsWithReferringPhysician, "documents": .documents,
        "currentDocuments": .currentDocuments, "deprecatedDocuments": .deprecatedDocuments,
        "patientSpaceDocuments": .patientSpaceDocuments, "contentBytes": .contentBytes, "activeGrants": .activeGrants,
        "activeExtendedGrants": .activeExtendedGrants, "activeReadWriteGrants": .activeReadWriteGrants,
        "activeOrganisationGrants": .activeOrganisationGrants, "activePresenceCodeAccesses": .activePresenceCodeAccesses,
        "activeEmergencyAccesses": .activeEmergencyAccesses, "recordsWithDelegates": .recordsWithDelegates,
        "keyStorePurges": .keyStorePurges,
    ]
    private static let scalarNames = Dictionary(uniqueKeysWithValues: scalars.map { ($1, $0) })
}

/// Signed amounts per counter: a contribution, a change, or the sum of all of them. Zero
/// amounts are not kept, so an empty tally is "no change".
public struct StatisticsTally: Sendable, Hashable {
    public private(set) var amounts: [StatisticsCounter: Int64] = [:]

    public init() {}

    public init(_ amounts: [StatisticsCounter: Int64]) {
        for (counter, amount) in amounts { self[counter] += amount }
    }

    public var isEmpty: Bool { amounts.isEmpty }

    public subscript(counter: StatisticsCounter) -> Int64 {
        get { amounts[counter] ?? 0 }
        set { amounts[counter] = newValue == 0 ? nil : newValue }
    }

    public static func + (lhs: Self, rhs: Self) -> Self {
        var sum = lhs
        sum += rhs
        return sum
    }

    public static func += (lhs: inout Self, rhs: Self) {
        for (counter, amount) in rhs.amounts { lhs[counter] &+= amount }
    }

    public static prefix func - (tally: Self) -> Self {
        var negated = Self()
        for (counter, amount) in tally.amounts { negated[counter] = 0 &- amount }
        return negated
    }

    public static func - (lhs: Self, rhs: Self) -> Self { lhs + -rhs }

    public static func -= (lhs: inout Self, rhs: Self) { lhs += -rhs }
}

extension StoredCounts {
    /// The figures a tally adds up to (a negative amount, which only a defect could produce,
    /// reads as 0).
    public init(_ tally: StatisticsTally) {
        self.init()
        for (counter, amount) in tally.amounts {
            let value = UInt64(clamping: amount)
            switch counter {
            case .pendingRecords: pendingRecords = value
            case .activeRecords: activeRecords = value
            case .closedRecords: closedRecords = value
            case .recordsWithReferringPhysician: recordsWithReferringPhysician = value
            case .documents: documents = value
            case .currentDocuments: currentDocuments = value
            case .deprecatedDocuments: deprecatedDocuments = value
            case .patientSpaceDocuments: patientSpaceDocuments = value
            case .contentBytes: contentBytes = value
            case .currentOfClass(let documentClass): currentByClass[documentClass] = value
            case .activeGrants: activeGrants = value
            case .activeExtendedGrants: activeExtendedGrants = value
            case .activeReadWriteGrants: activeReadWriteGrants = value
            case .activeOrganisationGrants: activeOrganisationGrants = value
            case .activePresenceCodeAccesses: activePresenceCodeAccesses = value
            case .activeEmergencyAccesses: activeEmergencyAccesses = value
            case .recordsWithDelegates: recordsWithDelegates = value
            case .depositedIn(let month): depositsByMonth[month] = value
            case .event(let month, let event): eventsByMonth[month, default: [:]][event] = value
            case .keyStorePurges: break
            }
        }
        currentByClass = currentByClass.filter { $0.value > 0 }
        depositsByMonth = depositsByMonth.filter { $0.value > 0 }
        eventsByMonth = eventsByMonth.compactMapValues { events in
            let kept = events.filter { $0.value > 0 }
            return kept.isEmpty ? nil : kept
        }
    }

    /// The same figures as a tally.
    public var tally: StatisticsTally {
        var tally = StatisticsTally()
        let scalars: [(StatisticsCounter, UInt64)] = [
            (.pendingRecords, pendingRecords), (.activeRecords, activeRecords), (.closedRecords, closedRecords),
            (.recordsWithReferringPhysician, recordsWithReferringPhysician), (.documents, documents),
            (.currentDocuments, currentDocuments), (.deprecatedDocuments, deprecatedDocuments),
            (.patientSpaceDocuments, patientSpaceDocuments), (.contentBytes, contentBytes), (.activeGrants, activeGrants),
            (.activeExtendedGrants, activeExtendedGrants), (.activeReadWriteGrants, activeReadWriteGrants),
            (.activeOrganisationGrants, activeOrganisationGrants), (.activePresenceCodeAccesses, activePresenceCodeAccesses),
            (.activeEmergencyAccesses, activeEmergencyAccesses), (.recordsWithDelegates, recordsWithDelegates),
        ]
        for (counter, value) in scalars { tally[counter] = Int64(clamping: value) }
        for (documentClass, value) in currentByClass { tally[.currentOfClass(documentClass)] = Int64(clamping: value) }
        for (month, value) in depositsByMonth { tally[.depositedIn(month)] = Int64(clamping: value) }
        for (month, events) in eventsByMonth {
            for (event, value) in events { tally[.event(month, event)] = Int64(clamping: value) }
        }
        return tally
    }
}

/// What records and documents contribute to the figures, and how a write changes that over
/// time (decision 0010).
public enum StatisticsContribution {
    /// What a record with these settings adds at `time` (nothing for no record).
    public static func of(_ record: Record?, _ settings: RecordAccessSettings, at time: Date) -> StatisticsTally {
        guard let record else { return StatisticsTally() }
        var counts = StoredCounts()
        counts.add(record: record, settings: settings, at: time)
        return counts.tally
    }

    /// What a document adds (nothing for no document): its figures do not depend on time.
    public static func of(_ document: Document?) -> StatisticsTally {
        guard let document else { return StatisticsTally() }
        // As StoredCounts.add(document:), without the detour through every figure.
        var tally = StatisticsTally()
        tally[.documents] = 1
        tally[.contentBytes] = Int64(clamping: document.sizeBytes)
        if document.patientSpace { tally[.patientSpaceDocuments] = 1 }
        switch document.status {
        case .current:
            tally[.currentDocuments] = 1
            tally[.currentOfClass(document.documentClass)] = 1
        case .deprecated:
            tally[.deprecatedDocuments] = 1
        }
        tally[.depositedIn(StatisticsMonth(containing: document.depositedAt))] = 1
        return tally
    }

    /// The times after `now` at which a record's contribution may change with nothing written:
    /// the end of its objection period, the expiries of its accesses and delegations.
    public static func changeTimes(of record: Record?, _ settings: RecordAccessSettings, after now: Date) -> Set<Date> {
        guard let record else { return [] }
        var times: Set<Date> = []
        if record.storedState == .pending, let end = record.objectionPeriodEndsAt { times.insert(end) }
        for grant in settings.grants where grant.revokedAt == nil {
            if let expiry = grant.expiresAt { times.insert(expiry) }
        }
        for delegation in settings.delegations {
            if let expiry = delegation.expiresAt { times.insert(expiry) }
        }
        return times.filter { $0 > now }
    }

    /// How changing a record (and its settings) from `old` to `new` at `now` changes the
    /// figures from then on: the change at `now`, then one at each later time where the two
    /// contributions would change differently by themselves. Oldest first; empty changes left
    /// out. `new == nil` removes the record (a purge).
    public static func changes(
        from old: (Record?, RecordAccessSettings), to new: (Record?, RecordAccessSettings), at now: Date
    ) -> [(time: Date, tally: StatisticsTally)] {
        var result: [(time: Date, tally: StatisticsTally)] = []
        var previousOld = of(old.0, old.1, at: now)
        var previousNew = of(new.0, new.1, at: now)
        let first = previousNew - previousOld
        if !first.isEmpty { result.append((now, first)) }
        let times = changeTimes(of: old.0, old.1, after: now).union(changeTimes(of: new.0, new.1, after: now)).sorted()
        for time in times {
            let oldThen = of(old.0, old.1, at: time)
            let newThen = of(new.0, new.1, at: time)
            let change = (newThen - previousNew) - (oldThen - previousOld)
            if !change.isEmpty { result.append((time, change)) }
            (previousOld, previousNew) = (oldThen, newThen)
        }
        return result
    }
}
