import Foundation
import Synchronization

/// Large contents in chunks: a session per (caller, record, client unique id), chunks durable
/// as they arrive, resumable from the committed size after a dropped connection, completed
/// into a document (or a new version) atomically. Server memory per call is one chunk.
extension DocumentService {
    /// Opens a session, or returns the caller's open one with this client unique id, or the
    /// document that already carries it.
    public func createUpload(
        _ patient: PatientID, _ submission: DocumentSubmission, declaredSize: UInt64, expectedSHA256: [UInt8]?,
        replaces: String?, by caller: Principal
    ) async throws -> UploadStart {
        let now = clock()
        try DocumentValidation.check(submission, byPatient: caller.kind == .patient, now: now)
        try DocumentValidation.checkHash(expectedSHA256, field: "expected_sha256")
        guard declaredSize > 0 else { throw DossierError.missingField("declared_size") }
        guard declaredSize <= policy.maxDocumentSize else {
            throw DocumentValidation.invalid(
                "declared_size is larger than the maximum of \(policy.maxDocumentSize) bytes", "CONTENT_TOO_LARGE", "declared_size")
        }
        let id = "u-" + Self.randomHex(bytes: 12)
        let policy = self.policy
        let operation: DocumentOperation = replaces == nil ? .deposit : .change
        let start = try await perform(.createUpload, operation, on: patient, by: caller, at: now) { tx, context -> UploadStart in
            if let replaces {
                try DocumentService.requireCurrent(try context.changeable(replaces, in: &tx))
            }
            try context.requireWritable(tx)
            if let existing = try Self.existing(submission.clientUniqueID, by: caller, in: tx, hash: nil) {
                tx.loggedDocumentIDs = [existing.id]
                return .existingDocument(existing)
            }
            if let openID = try tx.storage.uploadID(clientUniqueID: submission.clientUniqueID, creator: caller),
                let open = try tx.storage.upload(openID), open.state == .open, !open.isExpired(at: now)
            {
                return .session(open)
            }
            guard try tx.storage.openUploadCount(creator: caller, at: now) < policy.maxOpenUploads else {
                throw DossierError(
                    .resourceExhausted, "too many open uploads; complete or abort one", reason: "TOO_MANY_UPLOADS")
            }
            let session = UploadSession(
                id: id, patientID: patient, creator: caller, submission: submission, declaredSize: declaredSize,
                expectedSHA256: expectedSHA256, createdAt: now, expiresAt: now + policy.uploadIdleTimeout,
                replacesDocumentID: replaces, content: ContentID(id))
            tx.documentChanges.uploads[id] = session
            return .session(session)
        }
        if case .session(let session) = start, session.id == id {
            uploadProgress.started(id, hasher: makeHasher())
        }
        return start
    }

    /// Appends a chunk at `offset`, the committed size. A chunk past the committed size (sent
    /// while the ones before it are still in flight) waits up to `policy.chunkOrderWait` for
    /// them to commit. Not logged: the session was, and its completion will be.
    public func appendChunk(uploadID: String, offset: UInt64, data: [UInt8], by caller: Principal) async throws -> UploadSession {
        let now = clock()
        guard !uploadID.isEmpty else { throw DossierError.missingField("upload_id") }
        guard !data.isEmpty else { throw DocumentValidation.invalid("data is empty", "EMPTY_CONTENT", "data") }
        guard data.count <= policy.maxChunk else {
            throw DocumentValidation.invalid("a chunk is at most \(policy.maxChunk) bytes", "CHUNK_TOO_LARGE", "data")
        }
        let idle = policy.uploadIdleTimeout
        let progress = uploadProgress
        let deadline = ContinuousClock.now + policy.chunkOrderWait
        let accepted = Accepted()
        while true {
            do {
                let session = try await uploads.changeUpload(uploadID) { change in
                    var session = try Self.ownSession(change.current, caller, now)
                    guard session.state == .open else { throw Self.notOpen }
                    guard offset >= session.committedSize else { throw Self.offsetMismatch(session.committedSize) }
                    guard offset + UInt64(data.count) <= session.declaredSize else {
                        throw DocumentValidation.invalid("the chunk goes past declared_size", "UPLOAD_SIZE_EXCEEDED", "data")
                    }
                    guard offset == session.committedSize else { throw ChunkAhead(committed: session.committedSize) }
                    accepted.value.store(true, ordering: .relaxed)
                    change.chunk = (session.content, offset, data)
                    session.committedSize += UInt64(data.count)
                    session.expiresAt = now + idle
                    change.updated = session
                    let size = session.committedSize
                    change.written = { progress.committed(uploadID, size: size) }
                    return session
                }
                await progress.hash(uploadID, offset: offset, data: data, timeout: policy.chunkOrderWait)
                return session
            } catch let ahead as ChunkAhead {
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero,
                    await progress.waitForTurn(uploadID, offset: offset, known: ahead.committed, timeout: remaining)
                else {
                    throw DossierError(
                        .failedPrecondition,
                        "offset is past the committed size \(ahead.committed) and the chunks before it did not arrive",
                        reason: "UPLOAD_OFFSET_MISMATCH", field: "offset")
                }
            } catch {
                // Only a chunk that passed its checks and then failed (its write or fsync) makes
                // the ones behind it hopeless and the running hash doubtful. A refused chunk
                // (late, repeated, too large, not the creator's) leaves them be.
                if accepted.value.load(ordering: .relaxed) { progress.failed(uploadID) }
                throw error
            }
        }
    }

    /// Whether a chunk passed its checks (set inside the upload's lock).
    private final class Accepted: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Thrown inside the upload's lock when a chunk is past the committed size.
    private struct ChunkAhead: Error {
        let committed: UInt64
    }

    static func offsetMismatch(_ committed: UInt64) -> DossierError {
        DossierError(
            .failedPrecondition, "offset must equal the committed size \(committed)", reason: "UPLOAD_OFFSET_MISMATCH",
            field: "offset")
    }

    /// A session's state (creator only).
    public func upload(_ uploadID: String, by caller: Principal) async throws -> UploadSession {
        let now = clock()
        guard !uploadID.isEmpty else { throw DossierError.missingField("upload_id") }
        return try await uploads.changeUpload(uploadID) { change in try Self.ownSession(change.current, caller, now) }
    }

    /// Checks size and hash, re-checks the caller's access, and creates the document.
    public func completeUpload(
        _ uploadID: String, expectedSHA256: [UInt8]?, by caller: Principal
    ) async throws -> (document: Document, alreadyCompleted: Bool) {
        let now = clock()
        try DocumentValidation.checkHash(expectedSHA256, field: "expected_sha256")
        let session = try await upload(uploadID, by: caller)
        let running = session.committedSize == session.declaredSize
            ? uploadProgress.finish(uploadID, size: session.declaredSize) : nil
        let suffix = randomSuffix()
        let makeHasher = self.makeHasher
        let chunk = policy.maxChunk
        let idle = policy.uploadIdleTimeout
        let operation: DocumentOperation = session.replacesDocumentID == nil ? .deposit : .change
        let logged: LoggedOperation = session.replacesDocumentID == nil ? .depositDocument : .replaceDocument
        return try await perform(logged, operation, on: session.patientID, by: caller, at: now) { tx, context in
            var session = try Self.ownSession(try tx.storage.upload(uploadID), caller, now)
            if session.state == .completed, let id = session.documentID, let document = try tx.document(id) {
                tx.loggedDocumentIDs = [id]
                return (document, true)
            }
            guard session.committedSize == session.declaredSize else {
                throw DossierError(
                    .failedPrecondition, "\(session.committedSize) of \(session.declaredSize) bytes received",
                    reason: "UPLOAD_INCOMPLETE")
            }
            if let given = expectedSHA256, let declared = session.expectedSHA256, given != declared {
                throw DocumentValidation.invalid("expected_sha256 differs from the one given at creation", "HASH_MISMATCH", "expected_sha256")
            }
            guard let expected = expectedSHA256 ?? session.expectedSHA256 else { throw DossierError.missingField("expected_sha256") }
            // The running hash of the chunks as they were accepted; the content is read back
            // only without one, and before refusing (a refusal must not rest on memory alone).
            var hash = running ?? []
            if hash != expected {
                let hasher = makeHasher()
                var offset: UInt64 = 0
                while offset < session.declaredSize {
                    let bytes = try tx.storage.readContent(session.content, offset: offset, length: chunk)
                    guard !bytes.isEmpty else { throw DossierError(.internalError, "an upload's chunks are missing") }
                    hasher.update(bytes[...])
                    offset += UInt64(bytes.count)
                }
                hash = hasher.finish()
            }
            guard hash == expected else {
                throw DocumentValidation.invalid("the uploaded content does not match expected_sha256", "HASH_MISMATCH", "expected_sha256")
            }
            try context.requireWritable(tx)
            let document: Document
            if let replaces = session.replacesDocumentID {
                let old = try context.changeable(replaces, in: &tx)
                document = try Self.newVersion(
                    of: old, session.submission, in: &tx, author: caller, size: session.declaredSize, hash: hash, now: now,
                    suffix: suffix, content: session.content
                ).document
            } else {
                if try Self.existing(session.submission.clientUniqueID, by: caller, in: tx, hash: nil) != nil {
                    throw Self.clientIDReused
                }
                document = try Self.newDocument(
                    session.submission, in: &tx, author: caller, size: session.declaredSize, hash: hash, now: now,
                    suffix: suffix, content: session.content)
            }
            session.state = .completed
            session.documentID = document.id
            session.expiresAt = now + idle
            tx.documentChanges.uploads[session.id] = session
            return (document, false)
        }
    }

    /// Abandons an open session and frees its chunks (creator only).
    public func abortUpload(_ uploadID: String, by caller: Principal) async throws {
        let now = clock()
        let session = try await upload(uploadID, by: caller)
        try await RecordOperationRunner(repository: repository).perform(
            .abortUpload, on: session.patientID, by: caller, at: now,
            authorizeIn: { relation, _ in .allowed(Self.basis(of: relation)) },
            body: { tx, _ in
                let session = try Self.ownSession(try tx.storage.upload(uploadID), caller, now)
                guard session.state == .open else { throw Self.notOpen }
                tx.documentChanges.deletedUploads.append(session)
            })
        uploadProgress.forget(uploadID)
    }

    static let notOpen = DossierError(.failedPrecondition, "the upload is not open", reason: "UPLOAD_NOT_OPEN")

    /// The session, when it exists, is not expired and was created by `caller`; one NOT_FOUND
    /// for everything else, so that nobody learns about another's upload.
    static func ownSession(_ session: UploadSession?, _ caller: Principal, _ now: Date) throws -> UploadSession {
        guard let session, session.isCreated(by: caller), !session.isExpired(at: now) else {
            throw DossierError(.notFound, "no such upload", reason: "UPLOAD_NOT_FOUND", field: "upload_id")
        }
        return session
    }

    /// The basis logged for the creator aborting their own upload.
    static func basis(of relation: RecordRelation) -> AccessBasis {
        switch relation {
        case .patient: .patient
        case .delegate: .delegate
        case .professional(let access): access.basis
        case .operator: .operator
        case .none: .author
        }
    }
}

/// The answer to CreateUpload.
public enum UploadStart: Sendable {
    case session(UploadSession)
    /// A retry after completion: the document already carries the client unique id.
    case existingDocument(Document)
}
