import Foundation

/// One record's state as a transaction sees it, and the changes it stages.
public struct RecordTransaction: Sendable {
    public let patientID: PatientID
    /// The record as stored when the transaction began (nil: no record).
    public let current: Record?
    /// The patient's access settings (grants, delegations, blocks, emergency preference) as
    /// stored when the transaction began.
    public let settings: RecordAccessSettings
    /// The record to store when the transaction commits (nil: unchanged).
    public var updated: Record?
    /// The access settings to store when the transaction commits (nil: unchanged).
    public var updatedSettings: RecordAccessSettings?
    /// Entries to append to this record's access log, in order.
    public var logEntries: [AccessLogEntry] = []
    /// Notifications to add for the patient (tied to the last log entry of the transaction).
    public var notifications: [NotificationDraft] = []
    /// Marks notifications read: these ids, and all up to `markReadUpTo` (inclusive).
    public var markRead: (ids: Set<UInt64>, upTo: UInt64, at: Date)?
    /// The record's documents as stored when the transaction began.
    public let storage: any DocumentStorage
    /// Document, content and upload changes to commit.
    public var documentChanges = DocumentChanges()
    /// Documents the operation concerned, for its access-log entry.
    public var loggedDocumentIDs: [String] = []
    /// What the operation adds to its log entry (subject, grant, emergency reason).
    public var logDetails = LogDetails()
    /// The operation needed an emergency access (another path alone would not have allowed
    /// it, or would not have shown a document it returned).
    public var neededEmergency = false
    /// The caller's relation without its emergency accesses, when it has one (nil otherwise):
    /// document operations compare what it would show.
    public var relationWithoutEmergency: RecordRelation?
    /// Entries about a document hidden from the patient, kept apart until it is released
    /// (decision 0005), by document id.
    public var withheldLogEntries: [(documentID: String, entry: AccessLogEntry)] = []
    /// Documents released to the patient by this transaction: their withheld entries join the
    /// log, before this transaction's own entries.
    public var releasedDocumentIDs: [String] = []
    /// Whether documents this transaction already read are hidden from the patient, so that
    /// logging a search of 50 documents does not read them again.
    public var knownHidden: [String: Bool] = [:]
    /// A successful operation stages no log entry (an export's following pages: its first
    /// call was logged). Refusals are logged whatever this says.
    public var skipsSuccessLog = false

    public init(
        patientID: PatientID, current: Record?, settings: RecordAccessSettings = .init(),
        storage: any DocumentStorage = NoDocumentStorage()
    ) {
        self.patientID = patientID
        self.current = current
        self.settings = settings
        self.storage = storage
    }

    /// A document as it will be committed (staged changes first).
    public func document(_ id: String) throws -> Document? {
        if let staged = documentChanges.documents[id] { return staged }
        return try storage.document(id)
    }

    /// Stages a new or changed document.
    public mutating func stage(_ document: Document) {
        documentChanges.documents[document.id] = document
    }

    /// The record as it will be committed.
    public var record: Record? { updated ?? current }

    /// The access settings as they will be committed.
    public var effectiveSettings: RecordAccessSettings { updatedSettings ?? settings }

    /// The staged notifications the patient chose to receive (what the repository stores):
    /// a kind turned off is dropped, except emergency access, which is always notified.
    public var deliveredNotifications: [NotificationDraft] {
        let preferences = effectiveSettings.notificationPreferences
        return notifications.filter { preferences.delivers($0.kind) }
    }

    /// Appends to the log. Entries of a record that does not exist (and is not being created)
    /// are dropped: there is no log to hold them.
    public mutating func log(_ entry: AccessLogEntry) {
        logEntries.append(entry)
    }

    /// Appends to the log, except that an entry by anyone but the patient or their delegate
    /// about a document hidden from the patient is withheld until the document is released
    /// (decision 0005): the patient learns nothing of it before. A search or overview keeps its
    /// entry with the visible documents only, and withholds one entry per hidden document.
    public mutating func log(_ entry: AccessLogEntry, byPatientSide: Bool) {
        guard !byPatientSide else { return log(entry) }
        let hidden = entry.documentIDs.filter { id in
            if let staged = documentChanges.documents[id] { return staged.hiddenFromPatient }
            if let known = knownHidden[id] { return known }
            return ((try? document(id)) ?? nil)?.hiddenFromPatient == true
        }
        guard let first = hidden.first else { return log(entry) }
        if entry.operation == .findDocuments || entry.operation == .getRecordOverview {
            var visible = entry
            visible.documentIDs.removeAll(where: hidden.contains)
            log(visible)
            for id in hidden {
                var withheld = entry
                withheld.documentIDs = [id]
                withheldLogEntries.append((id, withheld))
            }
        } else {
            withheldLogEntries.append((first, entry))
        }
    }

    /// Nothing but refusals to log: no change to the record, its settings or documents.
    public var onlyLogsRefusals: Bool {
        updated == nil && updatedSettings == nil && documentChanges.isEmpty && notifications.isEmpty && markRead == nil
            && releasedDocumentIDs.isEmpty && !logEntries.isEmpty && logEntries.allSatisfy { $0.outcome != .success }
    }
}

/// Which part of a record's access log to read.
public struct AccessLogQuery: Sendable {
    /// Newest first (descending sequence) or oldest first.
    public var newestFirst: Bool
    /// Only entries after this one in the reading order (exclusive); nil = from the start.
    public var after: UInt64?
    /// At most this many matching entries.
    public var limit: Int
    /// Keeps an entry.
    public var matches: @Sendable (AccessLogEntry) -> Bool

    public init(newestFirst: Bool, after: UInt64?, limit: Int, matches: @escaping @Sendable (AccessLogEntry) -> Bool = { _ in true }) {
        self.newestFirst = newestFirst
        self.after = after
        self.limit = limit
        self.matches = matches
    }
}

/// Storage of records and their access logs, as the domain needs it.
public protocol RecordRepository: Sendable {
    /// The records on which `delegateID` was named delegate.
    func delegations(of delegateID: String) async throws -> [(patient: PatientID, delegation: Delegation)]

    /// A record's notifications, newest first (committed ones only).
    func readNotifications(_ patient: PatientID) async throws -> [PatientNotification]

    /// Reads a record's access log (committed entries only).
    func readAccessLog(_ patient: PatientID, _ query: AccessLogQuery) async throws -> [SequencedLogEntry]

    /// Runs `body` with exclusive access to the records of `patients` (each listed once), then
    /// commits every staged change atomically and durably before returning `body`'s result.
    /// `body` runs off any event loop and must not block on anything but computation.
    func transact<T: Sendable>(
        _ patients: [PatientID],
        _ body: @escaping @Sendable (inout [RecordTransaction]) throws -> T
    ) async throws -> T
}

extension RecordRepository {
    /// `transact` for one record.
    public func transact<T: Sendable>(
        _ patient: PatientID,
        _ body: @escaping @Sendable (inout RecordTransaction) throws -> T
    ) async throws -> T {
        try await transact([patient]) { transactions in
            try body(&transactions[0])
        }
    }
}
