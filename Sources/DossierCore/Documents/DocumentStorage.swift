import Foundation

/// Read access to one record's documents, contents and upload sessions from inside a record
/// transaction (synchronous: the transaction already runs off the event loops, under the
/// record's lock). Writes are staged on the `RecordTransaction`.
public protocol DocumentStorage: Sendable {
    func document(_ id: String) throws -> Document?
    /// The document `author` deposited with this client unique id.
    func documentID(clientUniqueID: String, author: Principal) throws -> String?
    /// Whether `author` deposited at least one document in this record.
    func hasDocuments(authoredBy author: Principal) throws -> Bool
    /// Calls `body` with the record's documents in deposit order (newest first when asked),
    /// starting after the document with deposit sequence `after` (exclusive). Return false to stop.
    func forEachDocument(newestFirst: Bool, after: UInt64?, _ body: (Document) throws -> Bool) throws
    /// The number of documents deposited so far in this record (the next one's sequence - 1).
    func documentCount() throws -> UInt64
    /// `length` bytes (fewer at the end) of a content from `offset`.
    func readContent(_ content: ContentID, offset: UInt64, length: Int) throws -> [UInt8]
    func upload(_ id: String) throws -> UploadSession?
    /// The open or completed session `creator` started with this client unique id.
    func uploadID(clientUniqueID: String, creator: Principal) throws -> String?
    /// Sessions of `creator` on this record still open at `now`.
    func openUploadCount(creator: Principal, at now: Date) throws -> Int
}

/// For repositories without documents (tests of the record lifecycle).
public struct NoDocumentStorage: DocumentStorage {
    public init() {}
    public func document(_ id: String) throws -> Document? { nil }
    public func documentID(clientUniqueID: String, author: Principal) throws -> String? { nil }
    public func hasDocuments(authoredBy author: Principal) throws -> Bool { false }
    public func forEachDocument(newestFirst: Bool, after: UInt64?, _ body: (Document) throws -> Bool) throws {}
    public func documentCount() throws -> UInt64 { 0 }
    public func readContent(_ content: ContentID, offset: UInt64, length: Int) throws -> [UInt8] { [] }
    public func upload(_ id: String) throws -> UploadSession? { nil }
    public func uploadID(clientUniqueID: String, creator: Principal) throws -> String? { nil }
    public func openUploadCount(creator: Principal, at now: Date) throws -> Int { 0 }
}

/// The document changes a record transaction stages.
public struct DocumentChanges: Sendable {
    /// Documents to store (new or updated), by id.
    public var documents: [String: Document] = [:]
    /// New contents (a deposit's whole content).
    public var contents: [(content: ContentID, bytes: [UInt8])] = []
    /// Sessions to store; ids in `deletedUploads` are removed with their chunks.
    public var uploads: [String: UploadSession] = [:]
    public var deletedUploads: [UploadSession] = []
    /// Documents deposited in this transaction (to advance the record's document count).
    public var deposited: UInt64 = 0

    public init() {}

    public var isEmpty: Bool {
        documents.isEmpty && contents.isEmpty && uploads.isEmpty && deletedUploads.isEmpty
    }
}
