import Foundation

/// Moving a record between services (ImportRecord): the documents of an export go into a fresh
/// record with their original ids, metadata, authors and times. Callers: an operator or the
/// patient. Contents up to one chunk come in the call; larger ones through an upload session
/// of the importer (chunks as for any upload), completed by the import. Each document imported
/// is logged (`importRecord`); nothing is notified (the documents are not new to the patient).
extension DocumentService {
    public enum ImportOutcome: Sendable {
        case imported(Document, alreadyExisted: Bool)
        /// Send the content to this session, then import again with its id.
        case uploadRequired(UploadSession)
    }

    public static func decideImport(_ relation: RecordRelation) -> AccessDecision {
        switch relation {
        case .patient: .allowed(.patient)
        case .operator: .allowed(.operator)
        case .none: .denied(reason: "NO_ACCESS")
        default: .denied(reason: "OPERATOR_OR_PATIENT_ONLY")
        }
    }

    static let notEmpty = DossierError(
        .failedPrecondition, "the record already holds documents: import into a fresh record", reason: "RECORD_NOT_EMPTY")

    static func requireImportable(_ tx: RecordTransaction, requireEmpty: Bool, now: Date) throws {
        let record = try RecordOperationRunner.existing(tx)
        guard record.state(at: now) != .closed else {
            throw DossierError(.failedPrecondition, "the record is closed", reason: "RECORD_CLOSED")
        }
        if requireEmpty, try tx.storage.documentCount() > 0 { throw notEmpty }
    }

    /// The first call of an import: the caller may import into this record, which exists, is
    /// not closed and holds no document. Logged.
    public func beginImport(_ patient: PatientID, by caller: Principal) async throws {
        let now = clock()
        try await RecordOperationRunner(repository: repository).perform(
            .importRecord, on: patient, by: caller, at: now, authorize: { relation, _ in Self.decideImport(relation) },
            body: { tx, _ in try Self.requireImportable(tx, requireEmpty: true, now: now) })
    }

    /// Imports `document` (as an export described it), its content in `content` or in the
    /// caller's completed upload `uploadID`; without either, opens that upload.
    public func importDocument(
        _ patient: PatientID, _ document: Document, content: [UInt8]?, uploadID: String?, requireEmpty: Bool, by caller: Principal
    ) async throws -> ImportOutcome {
        let now = clock()
        guard document.patientID == patient, document.sizeBytes > 0, document.sha256.count == 32 else {
            throw DocumentValidation.invalid("the document's size or SHA-256 is missing", "INVALID_RESOURCE", "resource_json")
        }
        let policy = self.policy
        if let content {
            guard UInt64(content.count) == document.sizeBytes else {
                throw DocumentValidation.invalid("content is not the size the resource gives", "SIZE_MISMATCH", "content")
            }
            guard content.count <= policy.maxChunk else {
                throw DocumentValidation.invalid("content is at most \(policy.maxChunk) bytes; use an upload", "CONTENT_TOO_LARGE", "content")
            }
            guard sha256(content) == document.sha256 else {
                throw DocumentValidation.invalid("content does not match the resource's SHA-256", "HASH_MISMATCH", "content")
            }
        }
        if content == nil, uploadID == nil {
            guard document.sizeBytes <= policy.maxDocumentSize else {
                throw DocumentValidation.invalid("the content is larger than this service's maximum", "CONTENT_TOO_LARGE", "resource_json")
            }
            let id = "u-" + Self.randomHex(bytes: 12)
            let session = try await RecordOperationRunner(repository: repository).perform(
                .importRecord, on: patient, by: caller, at: now, authorize: { relation, _ in Self.decideImport(relation) },
                body: { tx, _ -> UploadSession in
                    try Self.requireImportable(tx, requireEmpty: requireEmpty, now: now)
                    tx.loggedDocumentIDs = [document.id]
                    let session = UploadSession(
                        id: id, patientID: patient, creator: caller, submission: document.submission, declaredSize: document.sizeBytes,
                        expectedSHA256: document.sha256, createdAt: now, expiresAt: now + policy.uploadIdleTimeout,
                        replacesDocumentID: nil, content: ContentID(id))
                    tx.documentChanges.uploads[id] = session
                    return session
                })
            uploadProgress.started(id, hasher: makeHasher())
            return .uploadRequired(session)
        }
        var running: [UInt8]?
        if let uploadID {
            let session = try await upload(uploadID, by: caller)
            if session.committedSize == session.declaredSize { running = uploadProgress.finish(uploadID, size: session.declaredSize) }
        }
        let makeHasher = self.makeHasher
        let idle = policy.uploadIdleTimeout
        let runningHash = running
        return try await RecordOperationRunner(repository: repository).perform(
            .importRecord, on: patient, by: caller, at: now, authorize: { relation, _ in Self.decideImport(relation) },
            body: { tx, _ -> ImportOutcome in
                tx.loggedDocumentIDs = [document.id]
                if let existing = try tx.document(document.id) {
                    guard existing.sha256 == document.sha256, existing.patientID == patient else {
                        throw DossierError(.alreadyExists, "a different document has this id", reason: "DOCUMENT_EXISTS")
                    }
                    return .imported(existing, alreadyExisted: true)
                }
                try Self.requireImportable(tx, requireEmpty: requireEmpty, now: now)
                var imported = document
                if let content {
                    tx.documentChanges.contents.append((ContentID(document.id), content))
                } else if let uploadID {
                    var session = try Self.ownSession(try tx.storage.upload(uploadID), caller, now)
                    guard session.state == .open, session.patientID == patient else { throw Self.notOpen }
                    guard session.committedSize == session.declaredSize, session.declaredSize == document.sizeBytes else {
                        throw DossierError(
                            .failedPrecondition, "\(session.committedSize) of \(document.sizeBytes) bytes received", reason: "UPLOAD_INCOMPLETE")
                    }
                    var hash = runningHash ?? []
                    if hash != document.sha256 {
                        let hasher = makeHasher()
                        var offset: UInt64 = 0
                        while offset < session.declaredSize {
                            let bytes = try tx.storage.readContent(session.content, offset: offset, length: policy.maxChunk)
                            guard !bytes.isEmpty else { throw DossierError(.internalError, "an upload's chunks are missing") }
                            hasher.update(bytes[...])
                            offset += UInt64(bytes.count)
                        }
                        hash = hasher.finish()
                    }
                    guard hash == document.sha256 else {
                        throw DocumentValidation.invalid("the uploaded content does not match the resource's SHA-256", "HASH_MISMATCH", "upload_id")
                    }
                    imported = Document(
                        id: document.id, patientID: patient, submission: document.submission, author: document.author,
                        sizeBytes: document.sizeBytes, sha256: document.sha256, depositedAt: document.depositedAt,
                        patientSpace: document.patientSpace, content: session.content, replacesID: document.replacesID)
                    imported.confidentiality = document.confidentiality
                    imported.hiddenFromPatient = document.hiddenFromPatient
                    imported.releasedAt = document.releasedAt
                    imported.status = document.status
                    imported.replacedByID = document.replacedByID
                    imported.deprecationReason = document.deprecationReason
                    imported.deprecatedAt = document.deprecatedAt
                    imported.version = document.version
                    session.state = .completed
                    session.documentID = document.id
                    session.expiresAt = now + idle
                    tx.documentChanges.uploads[session.id] = session
                }
                imported.depositSequence = try tx.storage.documentCount() + tx.documentChanges.deposited + 1
                tx.stage(imported)
                tx.documentChanges.deposited += 1
                return .imported(imported, alreadyExisted: false)
            })
    }
}
