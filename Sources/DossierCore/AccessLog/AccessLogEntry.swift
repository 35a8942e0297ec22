import Foundation

/// What was done, as recorded in a record's access log: one case per rpc that touches a record
/// (the names of `dossier.v1.AccessOperation`).
public enum LoggedOperation: String, Sendable, Hashable, CaseIterable {
    case openRecord, activateRecord, getRecord, closeRecord, reopenRecord, requestDeletion
    case grantAccess, revokeAccess, listGrants, blockProfessional, unblockProfessional, listBlocks
    case setReferringPhysician, nameDelegate, removeDelegate, listDelegates
    case setEmergencyPreference, getEmergencyPreference, getMyAccess
    case listAccessLog, verifyAccessLog, getLogCheckpoint, issuePresenceCode, redeemPresenceCode, openEmergencyAccess
    case listNotifications, markNotificationsRead, getNotificationPreferences, setNotificationPreferences
    case requestRectification, listRectificationRequests, declineRectification
    case depositDocument, createUpload, abortUpload, getDocument, readDocumentContent, replaceDocument
    case deprecateDocument, setDocumentConfidentiality, hideDocumentFromPatient, releaseDocumentToPatient
    case findDocuments, getRecordOverview
    case exportRecord, importRecord

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

/// The principal an operation was about (grantee, blocked professional, delegate, referring
/// physician).
public struct LoggedPrincipal: Sendable, Hashable {
    public let kind: PrincipalKind
    public let id: String

    public init(kind: PrincipalKind, id: String) {
        self.kind = kind
        self.id = id
    }
}

/// What an operation adds to its log entry beyond who, what and how it ended.
public struct LogDetails: Sendable, Hashable {
    /// The principal the operation was about.
    public var subject: LoggedPrincipal?
    /// The access created, used or ended.
    public var grantID = ""
    /// The emergency access's stated reason (opened, or used by the call).
    public var emergencyReason = ""

    public init(subject: LoggedPrincipal? = nil, grantID: String = "", emergencyReason: String = "") {
        self.subject = subject
        self.grantID = grantID
        self.emergencyReason = emergencyReason
    }
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
    /// The call was an emergency access, or needed one (docs/ACCESS-LOG.md).
    public var emergency: Bool
    public var details: LogDetails
    /// The caller's request id (metadata "request-id"), for support.
    public var requestID: String

    public init(
        time: Date, actor: Principal, basis: AccessBasis, operation: LoggedOperation,
        documentIDs: [String] = [], outcome: AccessOutcome, reason: String = "", emergency: Bool = false,
        details: LogDetails = .init(), requestID: String = ""
    ) {
        self.time = time
        self.actor = actor
        self.basis = basis
        self.operation = operation
        self.documentIDs = documentIDs
        self.outcome = outcome
        self.reason = reason
        self.emergency = emergency
        self.details = details
        self.requestID = requestID
    }
}

/// The call being served, as the transport knows it: read by the use cases when they log.
public enum CallInfo {
    /// The client's request id (ttrpc metadata "request-id"), or the server's own.
    @TaskLocal public static var requestID = ""
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
