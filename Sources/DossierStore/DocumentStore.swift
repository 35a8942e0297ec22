public import DossierCore
import Crypto
import Foundation

/// One record's documents, contents and upload sessions, read inside a record transaction.
/// Every value is sealed with the record's data key (RecordKeys).
struct StoreDocumentStorage: DocumentStorage {
    let store: DossierStore
    let keys: RecordKeys

    var engine: any StoreEngine { store.engine }
    var handle: RecordHandle { keys.handle }

    func open(_ value: some ContiguousBytes, at storageKey: [UInt8]) throws -> [UInt8] {
        try keys.open(value, at: storageKey)
    }

    /// One read: the id index holds the document itself (a covering index).
    func document(_ id: String) throws -> Document? {
        let indexKey = Keys.documentIndex(handle, id)
        guard Self.isPlausibleID(id), let sealed = try engine.get(indexKey, in: .documents) else { return nil }
        return try DocumentCodec.decodeDocument(try open(sealed, at: indexKey))
    }

    /// An index entry's value: the id it points to, sealed.
    private func indexedID(at key: [UInt8]) throws -> String? {
        try engine.get(key, in: .documents).map { String(decoding: try open($0, at: key), as: UTF8.self) }
    }

    func documentID(clientUniqueID: String, author: Principal) throws -> String? {
        try indexedID(at: Keys.clientIndex(keys, .clientID, author, clientUniqueID: clientUniqueID))
    }

    func hasDocuments(authoredBy author: Principal) throws -> Bool {
        let prefix = Keys.clientIndexPrefix(keys, .clientID, author)
        return try !engine.entries(withPrefix: prefix, in: .documents, limit: 1).isEmpty
    }

    /// Documents are keyed by deposit sequence (the ids, random, are only an index): one range
    /// read in order, newest first when asked.
    func forEachDocument(newestFirst: Bool, after: UInt64?, _ body: (Document) throws -> Bool) throws {
        let prefix = Keys.documentEntry(handle, .document)
        var lower = prefix
        var upper = StoreKeyRange.upperBound(forPrefix: prefix)
        if let after {
            if newestFirst { upper = Keys.document(handle, after) } else { lower = Keys.document(handle, after &+ 1) }
        }
        try engine.scan(.documents, from: lower, to: upper, reverse: newestFirst) { entry in
            try body(try DocumentCodec.decodeDocument(try open(entry.value, at: entry.key)))
        }
    }

    func documentCount() throws -> UInt64 {
        guard let bytes = try engine.get(Keys.documentCount(handle), in: .documents) else { return 0 }
        guard let count = Keys.decodeUInt64(bytes) else { throw CorruptValueError(family: Keys.Family.documents) }
        return count
    }

    /// Chunks are keyed by their offset: start at the last chunk starting at or before
    /// `offset`, then open and copy forward.
    func readContent(_ content: ContentID, offset: UInt64, length: Int) throws -> [UInt8] {
        let prefix = Keys.contentPrefix(handle, content)
        var start = prefix
        // The smallest key after the one of a chunk at `offset` is that key ‖ 0x00.
        try engine.scan(.contents, from: prefix, to: Keys.contentChunk(handle, content, offset: offset) + [0x00], reverse: true) { entry in
            start = entry.key
            return false
        }
        var result: [UInt8] = []
        result.reserveCapacity(length)
        let end = offset + UInt64(length)
        try engine.scan(.contents, from: start, to: StoreKeyRange.upperBound(forPrefix: prefix), reverse: false) { entry in
            guard result.count < length else { return false }
            guard let chunkStart = Keys.decodeUInt64(Array(entry.key.suffix(8))) else {
                throw CorruptValueError(family: Keys.Family.contents)
            }
            if chunkStart >= end { return false }
            let bytes = try open(entry.value, at: entry.key)
            let chunkEnd = chunkStart + UInt64(bytes.count)
            let from = max(offset, chunkStart)
            let to = min(end, chunkEnd)
            if from < to {
                result.append(contentsOf: bytes[Int(from - chunkStart)..<Int(to - chunkStart)])
            }
            return result.count < length
        }
        return result
    }

    func upload(_ id: String) throws -> UploadSession? {
        let storageKey = Keys.documentEntry(handle, .upload, id)
        guard let bytes = try engine.get(storageKey, in: .documents) else { return nil }
        return try DocumentCodec.decodeUpload(try open(bytes, at: storageKey))
    }

    func uploadID(clientUniqueID: String, creator: Principal) throws -> String? {
        try indexedID(at: Keys.clientIndex(keys, .uploadClientID, creator, clientUniqueID: clientUniqueID))
    }

    func openUploadCount(creator: Principal, at now: Date) throws -> Int {
        let prefix = Keys.clientIndexPrefix(keys, .uploadClientID, creator)
        var count = 0
        for entry in try engine.entries(withPrefix: prefix, in: .documents) {
            if let upload = try upload(String(decoding: try open(entry.value, at: entry.key), as: UTF8.self)), upload.state == .open,
                !upload.isExpired(at: now)
            {
                count += 1
            }
        }
        return count
    }

    /// Document ids are short printable strings; anything else cannot name a document.
    static func isPlausibleID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

extension DossierStore {
    func documentStorage(_ keys: RecordKeys) -> StoreDocumentStorage {
        StoreDocumentStorage(store: self, keys: keys)
    }

    /// Puts `value` at `key`, sealed with the record's keys.
    func putSealed(_ value: some DataProtocol, at key: [UInt8], keys: RecordKeys, in family: StoreFamily, batch: StoreBatch) throws {
        batch.put(key, try keys.seal(value, at: key), in: family)
    }

    /// Stages a transaction's document, content and upload changes, sealed with the record's
    /// data key.
    func stageDocuments(_ transaction: RecordTransaction, keys: RecordKeys, in batch: StoreBatch) throws {
        let changes = transaction.documentChanges
        guard !changes.isEmpty else { return }
        let handle = keys.handle
        for document in changes.documents.values {
            let encoded = try DocumentCodec.encode(document)
            try putSealed(encoded, at: Keys.document(handle, document.depositSequence), keys: keys, in: .documents, batch: batch)
            try putSealed(encoded, at: Keys.documentIndex(handle, document.id), keys: keys, in: .documents, batch: batch)
            try putSealed(
                Array(document.id.utf8),
                at: Keys.clientIndex(keys, .clientID, document.author, clientUniqueID: document.submission.clientUniqueID), keys: keys,
                in: .documents, batch: batch)
        }
        if changes.deposited > 0 {
            let count = try documentStorage(keys).documentCount() + changes.deposited
            batch.put(Keys.documentCount(handle), Keys.encode(count), in: .documents)  // a count, in clear
        }
        for (content, bytes) in changes.contents {
            try stageContent(bytes[...], startingAt: 0, as: content, keys: keys, in: batch)
        }
        for upload in changes.uploads.values {
            try stageUpload(upload, keys: keys, in: batch)
        }
        for upload in changes.deletedUploads {
            stageDeletion(of: upload, keys: keys, in: batch)
        }
    }

    /// Contents are sealed in pieces of 64 KiB, each keyed by its offset: a ranged read opens
    /// only the pieces it needs (a 64 KiB read of a 1 MiB document decrypts 64–128 KiB, not
    /// 1 MiB), for 29 bytes of overhead per piece.
    static let sealedPiece = 64 << 10

    /// Stages `bytes`, which start at `start` in the content, as sealed pieces.
    func stageContent(
        _ bytes: ArraySlice<UInt8>, startingAt start: UInt64, as content: ContentID, keys: RecordKeys, in batch: StoreBatch
    ) throws {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let end = min(bytes.endIndex, index + Self.sealedPiece)
            let storageKey = Keys.contentChunk(keys.handle, content, offset: start + UInt64(index - bytes.startIndex))
            batch.put(storageKey, try keys.seal(bytes[index..<end], at: storageKey), in: .contents)
            index = end
        }
    }

    func stageUpload(_ upload: UploadSession, keys: RecordKeys, in batch: StoreBatch) throws {
        try putSealed(
            try DocumentCodec.encode(upload), at: Keys.documentEntry(keys.handle, .upload, upload.id), keys: keys,
            in: .documents, batch: batch)
        try putSealed(Array(upload.id.utf8), at: Self.uploadIndex(upload, keys: keys), keys: keys, in: .documents, batch: batch)
        batch.put(Keys.uploadOwner(upload.id), keys.handle.bytes, in: .documents)
    }

    /// The session's client-id index key (its creator's blinded client unique id).
    static func uploadIndex(_ upload: UploadSession, keys: RecordKeys) -> [UInt8] {
        Keys.clientIndex(keys, .uploadClientID, upload.creator, clientUniqueID: upload.submission.clientUniqueID)
    }

    /// Removes a session, its index entries and (unless `keepingContent`) its staged chunks.
    func stageDeletion(of upload: UploadSession, keys: RecordKeys, in batch: StoreBatch, keepingContent: Bool = false) {
        batch.delete(Keys.documentEntry(keys.handle, .upload, upload.id), in: .documents)
        batch.delete(Self.uploadIndex(upload, keys: keys), in: .documents)
        batch.delete(Keys.uploadOwner(upload.id), in: .documents)
        guard !keepingContent else { return }
        let prefix = Keys.contentPrefix(keys.handle, upload.content)
        if let upper = StoreKeyRange.upperBound(forPrefix: prefix) {
            batch.deleteRange(from: prefix, to: upper, in: .contents)
        }
    }
}

extension DossierStore: UploadRepository {
    public func changeUpload<T: Sendable>(
        _ id: String, _ body: @escaping @Sendable (inout UploadChunkChange) throws -> T
    ) async throws -> T {
        try await run { [self] in
            let owner = StoreDocumentStorage.isPlausibleID(id) ? try uploadOwner(id) : nil
            let lockKeys = owner.map { [$0.patient.rawValue] } ?? []
            // The record's lock covers the checks and the write, not the fsync (WALSync): the
            // next chunk of a pipelined upload (or the record's next transaction) is written
            // while this one's fsync runs, and they may share it. Nothing is acknowledged before it.
            let (result, ticket, written) = try locks.withLocks(for: lockKeys) {
                let current = try owner.flatMap { try documentStorage($0).upload(id) }
                var change = UploadChunkChange(current: current)
                let result = try body(&change)
                let batch = StoreBatch()
                if let owner, change.updated != nil || change.chunk != nil {
                    if let updated = change.updated { try stageUpload(updated, keys: owner, in: batch) }
                    if let chunk = change.chunk {
                        try stageContent(chunk.data[...], startingAt: chunk.offset, as: chunk.content, keys: owner, in: batch)
                    }
                }
                guard !batch.isEmpty else { return (result, nil as UInt64?, nil as (@Sendable () -> Void)?) }
                guard let rocks else {
                    try engine.write(batch, durability: .durable)
                    return (result, 0, change.written)
                }
                let native = rocks.writeBatch(batch)
                let ticket = try rocks.walSync.write { try rocks.database.write(native, sync: false) }
                return (result, ticket, change.written)
            }
            written?()
            if let walSync = rocks?.walSync {
                if let ticket { try walSync.waitDurable(ticket) } else { try walSync.barrier() }
            }
            return result
        }
    }

    /// The keys of the record an upload belongs to (its owner entry holds the record's
    /// handle). Nil when unknown, or when the record is gone.
    func uploadOwner(_ uploadID: String) throws -> RecordKeys? {
        guard let value = try engine.get(Keys.uploadOwner(uploadID), in: .documents), let handle = RecordHandle(value)
        else { return nil }
        return try keyStore.keys(for: handle)
    }
}

extension DossierStore {
    /// Deletes upload sessions past their expiry (open ones idle too long, completed ones kept
    /// long enough for retried completions), with the staged chunks of open ones (a completed
    /// session's chunks are its document's content); returns how many. The server runs it with
    /// the hourly purge.
    public func sweepExpiredUploads(at now: Date) async throws -> Int {
        try await run { [self] in
            var uploadIDs: [String] = []
            try engine.scan(prefix: [0x7E, UInt8(ascii: "U")], in: .documents) { entry in
                uploadIDs.append(String(decoding: entry.key.dropFirst(2), as: UTF8.self))
                return true
            }
            var swept = 0
            for uploadID in uploadIDs {
                guard let owner = try uploadOwner(uploadID) else { continue }
                try locks.withLocks(for: [owner.patient.rawValue]) {
                    guard let session = try documentStorage(owner).upload(uploadID), session.isExpired(at: now) else { return }
                    let batch = StoreBatch()
                    stageDeletion(of: session, keys: owner, in: batch, keepingContent: session.state == .completed)
                    try engine.write(batch, durability: .durable)
                    swept += 1
                }
            }
            return swept
        }
    }
}
