import Foundation

/// What was done, as recorded in a record's access log: one case per rpc that touches a record
/// (the names of `dossier.v1.AccessOperation`).
public enum LoggedOperation: String, Sendable, Hashable, CaseIterable {
    case openRecord, activateRecord, getRecord, closeRecord, reopenRecord, requestDeletion
    case grantAccess, revokeAccess, listGrants, blockProfessional, unblockProfessional, listBlocks
    case setReferringPhysician, nameDelegate, removeDelegate, listDelegates
    case setEmergencyPreference, getEmergencyPreference, getMyAccess
    case listAccessLog, verifyAccessLog, getLogCheckpoint, issuePresenceCode, redeemPresenceCode, openEmergencyAccess
    case listNotifications, markNotificationsRead
    case depositDocument, createUpload, abortUpload, getDocument, readDocumentContent, replaceDocument
    case deprecateDocument, setDocumentConfidentiality, hideDocumentFromPatient, releaseDocumentToPatient
    case findDocuments, getRecordOverview

    public init(_ operation: RecordOperation) {
        switch operation {
        case .open, .openBulk: self = .openRecord
        case .activate: self = .activateRecord
        case .read: self = .getRecord
        case .close: self = .closeRecord
        case .reopen: self = .reopenRecord
        case .requestDeletion: self = .requestDeletion
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
    /// A stable upper-snake code (a denial's or failure's reason, e.g. "NO_ACCESS"); never health data.
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
    /// The hash chain as stored (empty where a repository keeps none).
    public let prevHash: [UInt8]
    public let entryHash: [UInt8]

    public init(sequence: UInt64, entry: AccessLogEntry, prevHash: [UInt8] = [], entryHash: [UInt8] = []) {
        self.sequence = sequence
        self.entry = entry
        self.prevHash = prevHash
        self.entryHash = entryHash
    }
}
