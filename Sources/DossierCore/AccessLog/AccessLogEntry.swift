import Foundation

/// What was done, as recorded in a record's access log.
public enum LoggedOperation: String, Sendable, Hashable, CaseIterable {
    case recordOpen, recordActivate, recordRead, recordClose, recordReopen, recordDeletionRequest

    public init(_ operation: RecordOperation) {
        switch operation {
        case .open, .openBulk: self = .recordOpen
        case .activate: self = .recordActivate
        case .read: self = .recordRead
        case .close: self = .recordClose
        case .reopen: self = .recordReopen
        case .requestDeletion: self = .recordDeletionRequest
        }
    }
}

public enum AccessOutcome: String, Sendable, Hashable {
    case success
    /// Refused by authorization (the caller had no right to do this).
    case denied
    /// Allowed but not done (e.g. a transition not possible in the record's state).
    case failed
}

/// One entry of a record's append-only access log.
public struct AccessLogEntry: Sendable, Hashable {
    public var time: Date
    public var actor: Principal
    public var basis: AccessBasis
    public var operation: LoggedOperation
    public var documentIDs: [String]
    public var outcome: AccessOutcome
    /// Short, fixed English text (a denial's reason, a failure's reason); never health data.
    public var reason: String
    public var emergency: Bool

    public init(
        time: Date, actor: Principal, basis: AccessBasis, operation: LoggedOperation,
        documentIDs: [String] = [], outcome: AccessOutcome, reason: String = "", emergency: Bool = false
    ) {
        self.time = time
        self.actor = actor
        self.basis = basis
        self.operation = operation
        self.documentIDs = documentIDs
        self.outcome = outcome
        self.reason = reason
        self.emergency = emergency
    }
}

/// An access-log entry with its position in the record's log (1, 2, 3, … without gaps).
public struct SequencedLogEntry: Sendable, Hashable {
    public let sequence: UInt64
    public let entry: AccessLogEntry

    public init(sequence: UInt64, entry: AccessLogEntry) {
        self.sequence = sequence
        self.entry = entry
    }
}
