import Foundation

/// A resumable upload of a large content, chunk by chunk, by one caller.
public struct UploadSession: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case open, completed
    }

    public let id: String
    public let patientID: PatientID
    public let creator: Principal
    public let submission: DocumentSubmission
    public let declaredSize: UInt64
    public var committedSize: UInt64
    public var expectedSHA256: [UInt8]?
    public let createdAt: Date
    public var expiresAt: Date
    public var state: State
    public var documentID: String?
    public let replacesDocumentID: String?
    /// Where the chunks go; becomes the document's content on completion.
    public let content: ContentID

    public init(
        id: String, patientID: PatientID, creator: Principal, submission: DocumentSubmission, declaredSize: UInt64,
        expectedSHA256: [UInt8]?, createdAt: Date, expiresAt: Date, replacesDocumentID: String?, content: ContentID
    ) {
        self.id = id
        self.patientID = patientID
        self.creator = creator
        self.submission = submission
        self.declaredSize = declaredSize
        self.committedSize = 0
        self.expectedSHA256 = expectedSHA256
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.state = .open
        self.replacesDocumentID = replacesDocumentID
        self.content = content
    }

    /// Whether `caller` created this session (nobody else may even learn it exists).
    public func isCreated(by caller: Principal) -> Bool {
        creator.kind == caller.kind && creator.id == caller.id
    }

    /// Whether the session is gone for callers: an open session idle past its expiry.
    /// A completed one is kept until its expiry so that retried completions work.
    public func isExpired(at now: Date) -> Bool { now >= expiresAt }
}

/// One chunk to append to an upload, with the checks of `UploadChunk`.
public struct UploadChunkChange: Sendable {
    /// The session as stored (nil: none with this id).
    public let current: UploadSession?
    /// The session to store (nil: unchanged).
    public var updated: UploadSession?
    /// Bytes to append at `updated.committedSize - data.count`.
    public var chunk: (content: ContentID, offset: UInt64, data: [UInt8])?
    /// Called once the change is written, before it is made durable, outside the lock.
    public var written: (@Sendable () -> Void)?

    public init(current: UploadSession?) {
        self.current = current
    }
}

/// Upload sessions outside record transactions: appending a chunk touches no record state and
/// is not logged, but is serialized with the record's transactions (completion reads the
/// chunks).
public protocol UploadRepository: Sendable {
    /// Runs `body` with the session `id` locked, writes what it staged, releases the lock,
    /// calls `written`, then makes the write durable before returning.
    func changeUpload<T: Sendable>(
        _ id: String, _ body: @escaping @Sendable (inout UploadChunkChange) throws -> T
    ) async throws -> T
}
