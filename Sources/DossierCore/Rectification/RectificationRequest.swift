import Foundation

public enum RectificationStatus: String, Sendable, Hashable {
    case open
    /// Answered by a new version of the document.
    case corrected
    /// Declined with a reason, or the document was deprecated.
    case declined
}

/// The patient's request that a document be corrected (EHDS Art. 5), and its answer.
public struct RectificationRequest: Sendable, Hashable {
    public let id: String
    public let documentID: String
    public let requestedBy: Principal
    public let requestedAt: Date
    /// The patient's free text (sealed at rest like everything of the record).
    public let reason: String
    public var status: RectificationStatus
    public var answeredBy: Principal?
    public var answeredAt: Date?
    /// Declined: why.
    public var answer: String
    /// Corrected: the new version.
    public var replacementDocumentID: String?

    public init(
        id: String, documentID: String, requestedBy: Principal, requestedAt: Date, reason: String, status: RectificationStatus = .open,
        answeredBy: Principal? = nil, answeredAt: Date? = nil, answer: String = "", replacementDocumentID: String? = nil
    ) {
        self.id = id
        self.documentID = documentID
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.reason = reason
        self.status = status
        self.answeredBy = answeredBy
        self.answeredAt = answeredAt
        self.answer = answer
        self.replacementDocumentID = replacementDocumentID
    }

    /// The longest reason or answer, in characters.
    public static let maxText = 2_000
    /// The most open requests one record may hold.
    public static let maxOpen = 50

    static func checkText(_ text: String, field: String) throws -> String {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maxText).contains(text.count) else {
            throw DossierError(.invalidArgument, "\(field) must be 1 to \(maxText) characters", reason: "INVALID_REASON", field: field)
        }
        return text
    }
}

extension RecordTransaction {
    /// Closes the open requests about `old` once it is replaced by `replacement` (the answer by
    /// correction; called when the patient may see the new version) or deprecated (replacement nil: declined with the deprecation reason), and
    /// notifies the patient of each answer.
    mutating func closeRectifications(of old: Document, replacement: Document?, reason: String, by caller: Principal, at now: Date) {
        var settings = effectiveSettings
        var closed = false
        for index in settings.rectifications.indices
        where settings.rectifications[index].documentID == old.id && settings.rectifications[index].status == .open {
            settings.rectifications[index].answeredBy = caller
            settings.rectifications[index].answeredAt = now
            let id = settings.rectifications[index].id
            if let replacement {
                settings.rectifications[index].status = .corrected
                settings.rectifications[index].replacementDocumentID = replacement.id
                notifications.append(NotificationDraft(
                    kind: .rectificationCorrected, actor: caller, documentIDs: [replacement.id, old.id], rectificationRequestID: id))
            } else {
                settings.rectifications[index].status = .declined
                settings.rectifications[index].answer = reason
                notifications.append(NotificationDraft(
                    kind: .rectificationDeclined, actor: caller, documentIDs: [old.id], rectificationRequestID: id))
            }
            closed = true
        }
        if closed { updatedSettings = settings }
    }
}
