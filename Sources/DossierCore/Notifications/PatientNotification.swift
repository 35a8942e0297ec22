import Foundation

public enum NotificationKind: String, Sendable, Hashable, CaseIterable {
    /// A professional or organisation accessed the record for the first time.
    case firstAccess
    /// An emergency access was opened.
    case emergencyAccess
    case newDocument
    case grantExpiring
    /// An operator (not the patient or delegate) changed the referring physician.
    case referringPhysicianChanged
    /// A rectification request was answered by a new version of the document.
    case rectificationCorrected
    /// A rectification request was declined (or its document deprecated).
    case rectificationDeclined
}

/// A notification for the patient, as staged by an operation (the store numbers it).
public struct NotificationDraft: Sendable, Hashable {
    public let kind: NotificationKind
    public let actor: Principal
    public let documentIDs: [String]
    public let grantID: String?
    public let expiresAt: Date?
    /// The rectification request answered, if any.
    public let rectificationRequestID: String?

    public init(
        kind: NotificationKind, actor: Principal, documentIDs: [String] = [], grantID: String? = nil, expiresAt: Date? = nil,
        rectificationRequestID: String? = nil
    ) {
        self.kind = kind
        self.actor = actor
        self.documentIDs = documentIDs
        self.grantID = grantID
        self.expiresAt = expiresAt
        self.rectificationRequestID = rectificationRequestID
    }
}

/// A stored notification.
public struct PatientNotification: Sendable, Hashable {
    /// Increasing per record, from 1.
    public let id: UInt64
    public let draft: NotificationDraft
    public let createdAt: Date
    public var readAt: Date?
    /// The access-log entry behind it.
    public let logSequence: UInt64

    public init(id: UInt64, draft: NotificationDraft, createdAt: Date, readAt: Date?, logSequence: UInt64) {
        self.id = id
        self.draft = draft
        self.createdAt = createdAt
        self.readAt = readAt
        self.logSequence = logSequence
    }
}
