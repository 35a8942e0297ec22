import Foundation

/// What a professional, the patient or their delegate does with a record's documents: deposit,
/// read, replace, deprecate, change confidentiality and visibility. Every call is authorized
/// (DocumentAuthorization), logged — refusals included — and committed atomically with its log
/// entry before the answer.
public struct DocumentService: Sendable {
    public let repository: any RecordRepository
    public let uploads: any UploadRepository
    public let policy: DocumentPolicy
    /// The profession matrix in force (reloadable).
    public let matrix: @Sendable () -> AccessMatrix
    public let makeHasher: ContentHasherFactory
    public let clock: @Sendable () -> Date
    let randomSuffix: @Sendable () -> String
    /// Open uploads' committed sizes and running hashes (memory only).
    let uploadProgress = UploadProgress()

    public init(
        repository: any RecordRepository & UploadRepository, policy: DocumentPolicy, matrix: @escaping @Sendable () -> AccessMatrix,
        makeHasher: @escaping ContentHasherFactory, clock: @escaping @Sendable () -> Date = { Date() },
        randomSuffix: @escaping @Sendable () -> String = { DocumentService.randomHex(bytes: 16) }
    ) {
        self.repository = repository
        self.uploads = repository
        self.policy = policy
        self.matrix = matrix
        self.makeHasher = makeHasher
        self.clock = clock
        self.randomSuffix = randomSuffix
    }

    public static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }.hex
    }

    // MARK: Deposit

    /// Deposits a document whose content comes in the call. Idempotent by client unique id.
    public func deposit(
        _ patient: PatientID, _ submission: DocumentSubmission, content: [UInt8], expectedSHA256: [UInt8]?,
        by caller: Principal
    ) async throws -> (document: Document, alreadyExisted: Bool) {
        let now = clock()
        try DocumentValidation.check(submission, byPatient: caller.kind == .patient, now: now)
        try DocumentValidation.checkHash(expectedSHA256, field: "expected_sha256")
        try DocumentValidation.checkContent(content, max: policy.maxInlineContent)
        let hash = sha256(content)
        if let expectedSHA256, expectedSHA256 != hash {
            throw DocumentValidation.invalid("the content does not match expected_sha256", "HASH_MISMATCH", "expected_sha256")
        }
        let suffix = randomSuffix()
        return try await perform(.depositDocument, .deposit, on: patient, by: caller, at: now) { tx, context in
            try context.requireWritable(tx)
            if let existing = try Self.existing(submission.clientUniqueID, by: caller, in: tx, hash: hash) {
                tx.loggedDocumentIDs = [existing.id]
                return (existing, true)
            }
            let document = try Self.newDocument(
                submission, in: &tx, author: caller, size: UInt64(content.count), hash: hash, now: now, suffix: suffix,
                content: nil)
            tx.documentChanges.contents.append((document.content, content))
            return (document, false)
        }
    }

    // MARK: Reading

    public func get(_ patient: PatientID, documentID: String, by caller: Principal) async throws -> Document {
        try DocumentValidation.checkDocumentID(documentID)
        return try await perform(.getDocument, .read, on: patient, by: caller, at: clock()) { tx, context in
            try context.visible(documentID, in: &tx)
        }
    }

    /// A byte range of a document's content (`length` 0 means the largest read).
    public func read(
        _ patient: PatientID, documentID: String, offset: UInt64, length: Int, by caller: Principal
    ) async throws -> ContentRange {
        try DocumentValidation.checkDocumentID(documentID)
        guard length <= policy.maxChunk, length >= 0 else {
            throw DocumentValidation.invalid("length must be at most \(policy.maxChunk) bytes", "LENGTH_TOO_LARGE", "length")
        }
        let length = length == 0 ? policy.maxChunk : length
        return try await perform(.readDocumentContent, .read, on: patient, by: caller, at: clock()) { tx, context in
            let document = try context.visible(documentID, in: &tx)
            guard offset <= document.sizeBytes else {
                throw DossierError(.outOfRange, "offset is past the end of the content", reason: "OFFSET_PAST_END", field: "offset")
            }
            let count = Int(min(UInt64(length), document.sizeBytes - offset))
            let data = count == 0 ? [] : try tx.storage.readContent(document.content, offset: offset, length: count)
            guard data.count == count else {
                throw DossierError(.internalError, "the stored content is shorter than its size")
            }
            return ContentRange(
                data: data, offset: offset, totalSize: document.sizeBytes, sha256: document.sha256,
                eof: offset + UInt64(count) == document.sizeBytes, mimeType: document.submission.mimeType)
        }
    }

    // MARK: Versions

    /// A new version of a current document, content in the call.
    public func replace(
        _ patient: PatientID, documentID: String, with submission: DocumentSubmission, content: [UInt8],
        expectedSHA256: [UInt8]?, by caller: Principal
    ) async throws -> (document: Document, replaced: Document, alreadyExisted: Bool) {
        let now = clock()
        try DocumentValidation.checkDocumentID(documentID)
        try DocumentValidation.check(submission, byPatient: caller.kind == .patient, now: now)
        try DocumentValidation.checkHash(expectedSHA256, field: "expected_sha256")
        try DocumentValidation.checkContent(content, max: policy.maxInlineContent)
        let hash = sha256(content)
        if let expectedSHA256, expectedSHA256 != hash {
            throw DocumentValidation.invalid("the content does not match expected_sha256", "HASH_MISMATCH", "expected_sha256")
        }
        let suffix = randomSuffix()
        return try await perform(.replaceDocument, .change, on: patient, by: caller, at: now) { tx, context in
            let old = try context.changeable(documentID, in: &tx)
            if let existing = try Self.existing(submission.clientUniqueID, by: caller, in: tx, hash: hash) {
                guard existing.replacesID == documentID else { throw Self.clientIDReused }
                tx.loggedDocumentIDs = [existing.id, documentID]
                return (existing, old, true)
            }
            try context.requireWritable(tx)
            let (document, replaced) = try Self.newVersion(
                of: old, submission, in: &tx, author: caller, size: UInt64(content.count), hash: hash, now: now,
                suffix: suffix, content: nil)
            tx.documentChanges.contents.append((document.content, content))
            return (document, replaced, false)
        }
    }

    /// Marks a current document deprecated, with a reason shown to its readers.
    public func deprecate(_ patient: PatientID, documentID: String, reason: String, by caller: Principal) async throws -> Document {
        let now = clock()
        try DocumentValidation.checkDocumentID(documentID)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.count) else {
            throw DocumentValidation.invalid("reason must be 1 to 500 characters", "INVALID_REASON", "reason")
        }
        return try await perform(.deprecateDocument, .change, on: patient, by: caller, at: now) { tx, context in
            var document = try context.changeable(documentID, in: &tx)
            try context.requireWritable(tx)
            try Self.requireCurrent(document)
            document.status = .deprecated
            document.deprecationReason = reason
            document.deprecatedAt = now
            document.version += 1
            tx.stage(document)
            // A deprecated document can no longer be corrected: its open rectification
            // requests are answered with the deprecation reason.
            tx.closeRectifications(of: document, replacement: nil, reason: reason, by: caller, at: now)
            return document
        }
    }

    // MARK: Confidentiality and visibility

    /// The patient's (or delegate's) choice of level; SECRET masks the document.
    public func setConfidentiality(
        _ patient: PatientID, documentID: String, level: ConfidentialityLevel, by caller: Principal
    ) async throws -> Document {
        try DocumentValidation.checkDocumentID(documentID)
        return try await perform(.setDocumentConfidentiality, .setConfidentiality, on: patient, by: caller, at: clock()) { tx, context in
            var document = try context.visible(documentID, in: &tx)
            guard DocumentAuthorization.maySetConfidentiality(relation: context.relation) else {
                throw context.refusal("PATIENT_ONLY", documentID)
            }
            try context.requireWritable(tx)
            guard document.confidentiality != level else { return document }
            document.confidentiality = level
            document.version += 1
            tx.stage(document)
            return document
        }
    }

    /// Hides a document from the patient, or releases it (the author's decision). Releasing
    /// notifies the patient of the document.
    public func setHiddenFromPatient(
        _ patient: PatientID, documentID: String, hidden: Bool, by caller: Principal
    ) async throws -> Document {
        let now = clock()
        try DocumentValidation.checkDocumentID(documentID)
        let operation: LoggedOperation = hidden ? .hideDocumentFromPatient : .releaseDocumentToPatient
        return try await perform(operation, .setPatientVisibility, on: patient, by: caller, at: now) { tx, context in
            var document = try context.visible(documentID, in: &tx)
            guard DocumentAuthorization.maySetPatientVisibility(document, caller: caller) else {
                throw context.refusal("NOT_AUTHOR", documentID)
            }
            // Keeping something from the patient (or giving it back) needs current read-write
            // access: being the author is not enough once the patient revoked it.
            guard case .professional(let access) = context.relation, access.mode == .readWrite else {
                throw context.refusal("READ_WRITE_REQUIRED", documentID)
            }
            try context.requireWritable(tx)
            guard document.hiddenFromPatient != hidden else { return document }
            document.hiddenFromPatient = hidden
            if !hidden {
                document.releasedAt = now
                tx.notifications.append(NotificationDraft(kind: .newDocument, actor: caller, documentIDs: [document.id]))
                tx.releasedDocumentIDs.append(document.id)
                // A correction kept from the patient answers her requests when she may see it.
                if let replaced = document.replacesID, let old = try tx.document(replaced) {
                    tx.closeRectifications(of: old, replacement: document, reason: "", by: caller, at: now)
                }
            }
            document.version += 1
            tx.stage(document)
            return document
        }
    }

    // MARK: - Shared steps

    func perform<T: Sendable>(
        _ logged: LoggedOperation, _ operation: DocumentOperation, on patient: PatientID, by caller: Principal, at now: Date,
        body: @escaping @Sendable (inout RecordTransaction, DocumentContext) throws -> T
    ) async throws -> T {
        let matrix = self.matrix()
        return try await RecordOperationRunner(repository: repository).perform(
            logged, on: patient, by: caller, at: now,
            authorizeIn: { relation, tx in
                let authored: Bool
                if case .none = relation, caller.kind == .professional || caller.kind == .organisation,
                    !tx.settings.isBlocked(caller)
                {
                    authored = try tx.storage.hasDocuments(authoredBy: caller)
                } else {
                    authored = false
                }
                return DocumentAuthorization.decide(
                    operation, relation: relation, state: tx.current?.state(at: now), authoredDocuments: authored)
            },
            body: { tx, _ in
                let relation = RecordRelation.of(caller, to: patient, record: tx.current, settings: tx.settings, at: now)
                let context = DocumentContext(
                    caller: caller, relation: relation, withoutEmergency: tx.relationWithoutEmergency, matrix: matrix, now: now)
                return try body(&tx, context)
            })
    }

    static let clientIDReused = DossierError(
        .alreadyExists, "client_unique_id was already used for a different document", reason: "CLIENT_UNIQUE_ID_REUSED",
        field: "submission.client_unique_id")

    /// The caller's earlier document with this client unique id: the same one (a retry) when the
    /// content is the same, ALREADY_EXISTS otherwise.
    static func existing(_ clientUniqueID: String, by caller: Principal, in tx: RecordTransaction, hash: [UInt8]?) throws -> Document? {
        guard let id = try tx.storage.documentID(clientUniqueID: clientUniqueID, author: caller),
            let document = try tx.document(id)
        else { return nil }
        if let hash, document.sha256 != hash { throw clientIDReused }
        return document
    }

    static func requireCurrent(_ document: Document) throws {
        guard document.status == .current else {
            throw DossierError(.failedPrecondition, "the document was already replaced or deprecated", reason: "DOCUMENT_DEPRECATED")
        }
    }

    /// Stages a new document (a deposit, or the new version of a replacement), notifying the
    /// patient of a professional's deposit unless it is hidden from them.
    static func newDocument(
        _ submission: DocumentSubmission, in tx: inout RecordTransaction, author: Principal, size: UInt64, hash: [UInt8],
        now: Date, suffix: String, content: ContentID?, replaces: String? = nil
    ) throws -> Document {
        let sequence = try tx.storage.documentCount() + tx.documentChanges.deposited + 1
        // 128 random bits: an id tells nothing of the documents deposited before or after it
        // (deposit order is kept apart, in `depositSequence`).
        let id = "d-" + suffix
        var document = Document(
            id: id, patientID: tx.patientID, submission: submission, author: author, sizeBytes: size, sha256: hash,
            depositedAt: now, patientSpace: author.kind == .patient, content: content ?? ContentID(id), replacesID: replaces)
        document.depositSequence = sequence
        tx.stage(document)
        tx.documentChanges.deposited += 1
        tx.loggedDocumentIDs = [id] + (replaces.map { [$0] } ?? [])
        if author.kind != .patient, !document.hiddenFromPatient {
            tx.notifications.append(NotificationDraft(kind: .newDocument, actor: author, documentIDs: [id]))
        }
        return document
    }

    /// Stages the new version of `old` and marks `old` deprecated, pointing to it.
    static func newVersion(
        of old: Document, _ submission: DocumentSubmission, in tx: inout RecordTransaction, author: Principal, size: UInt64,
        hash: [UInt8], now: Date, suffix: String, content: ContentID?
    ) throws -> (document: Document, replaced: Document) {
        try requireCurrent(old)
        if old.patientSpace != (author.kind == .patient) {
            throw DocumentValidation.invalid(
                "a personal-space document is replaced by the patient's own", "PATIENT_SPACE_CLASS", "submission")
        }
        var document = try newDocument(
            submission, in: &tx, author: author, size: size, hash: hash, now: now, suffix: suffix, content: content,
            replaces: old.id)
        // The patient stays in control: a new version is at least as confidential as the old
        // one was (a masked document stays masked when its author replaces it).
        if old.confidentiality > document.confidentiality {
            document.confidentiality = old.confidentiality
            tx.stage(document)
        }
        var replaced = old
        replaced.status = .deprecated
        replaced.replacedByID = document.id
        replaced.deprecationReason = "replaced"
        replaced.deprecatedAt = now
        replaced.version += 1
        tx.stage(replaced)
        // The answer to the patient's open rectification requests about `old` (whether or not
        // the author meant it so): they close, linked to the new version — at its release when
        // it is hidden from the patient (decision 0005: no trace of it before).
        if !document.hiddenFromPatient {
            tx.closeRectifications(of: old, replacement: document, reason: "", by: author, at: now)
        }
        return (document, replaced)
    }

    func sha256(_ bytes: [UInt8]) -> [UInt8] {
        let hasher = makeHasher()
        hasher.update(bytes[...])
        return hasher.finish()
    }
}

/// A range of a document's content, with what a client needs to verify the whole.
public struct ContentRange: Sendable, Hashable {
    public let data: [UInt8]
    public let offset: UInt64
    public let totalSize: UInt64
    public let sha256: [UInt8]
    public let eof: Bool
    public let mimeType: String
}

/// The caller's standing inside one document operation, with the per-document checks.
struct DocumentContext: Sendable {
    let caller: Principal
    let relation: RecordRelation
    /// The caller's relation without its emergency accesses, when it has one.
    let withoutEmergency: RecordRelation?
    let matrix: AccessMatrix
    let now: Date

    func canSee(_ document: Document) -> Bool {
        DocumentAuthorization.canSee(document, caller: caller, relation: relation, matrix: matrix)
    }

    /// `document` as this caller sees it (DocumentAuthorization.presented): a replacement it may
    /// not see leaves no trace on the replaced version.
    func presented(_ document: Document, reading storage: any DocumentStorage) -> Document {
        DocumentAuthorization.presented(document) { id in
            ((try? storage.document(id)) ?? nil).map(canSee) ?? false
        }
    }

    /// Whether the caller sees `document` only through an emergency access.
    func needsEmergency(_ document: Document) -> Bool {
        guard let withoutEmergency else { return false }
        return !DocumentAuthorization.canSee(document, caller: caller, relation: withoutEmergency, matrix: matrix)
    }

    /// The document, when it exists and the caller may see it; the same NOT_FOUND otherwise
    /// (logged as denied when it exists).
    func visible(_ id: String, in tx: inout RecordTransaction) throws -> Document {
        tx.loggedDocumentIDs = [id]
        guard tx.current != nil else {
            throw DossierError(.notFound, "no record for this patient", reason: "RECORD_NOT_FOUND")
        }
        // A missing document and one the caller may not see are answered alike; for the patient
        // and delegate they are logged alike too (the reason of a missing one), so that their
        // own log tells a hidden document from a missing one no better than the answer.
        let patientSide = relation == .patient || relation == .delegate
        guard let document = try tx.document(id) else { throw DeniedAttempt.documentNotFound(id, logReason: "DOCUMENT_NOT_FOUND") }
        guard canSee(document) else {
            throw DeniedAttempt.documentNotFound(id, logReason: patientSide ? "DOCUMENT_NOT_FOUND" : "DOCUMENT_NOT_VISIBLE")
        }
        if needsEmergency(document) { tx.neededEmergency = true }
        tx.knownHidden[id] = document.hiddenFromPatient
        return presented(document, reading: tx.storage)
    }

    /// A document the caller sees and may replace or deprecate.
    func changeable(_ id: String, in tx: inout RecordTransaction) throws -> Document {
        let document = try visible(id, in: &tx)
        let referring = tx.current?.enrollment.referringPhysicianID
        guard DocumentAuthorization.mayChange(document, caller: caller, relation: relation, referringPhysicianID: referring) else {
            throw refusal("NOT_AUTHOR", id)
        }
        return document
    }

    /// A refusal about a document the caller sees: PERMISSION_DENIED with the reason.
    func refusal(_ reason: String, _ id: String) -> DeniedAttempt {
        DeniedAttempt(
            answer: DossierError(.permissionDenied, "permission denied", reason: reason), logReason: reason, documentIDs: [id])
    }

    /// The patient and delegate change nothing in a closed record.
    func requireWritable(_ tx: RecordTransaction) throws {
        guard let record = tx.current else {
            throw DossierError(.notFound, "no record for this patient", reason: "RECORD_NOT_FOUND")
        }
        guard record.state(at: now) != .closed else {
            throw DossierError(.failedPrecondition, "the record is closed", reason: "RECORD_CLOSED")
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
