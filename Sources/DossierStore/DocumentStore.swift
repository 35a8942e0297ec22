public import DossierCore
import Crypto
import Foundation
import RocksDB

/// One record's documents, contents and upload sessions, read inside a record transaction.
/// Values are sealed with the record's data key (Sealing.swift), loaded on first use.
struct StoreDocumentStorage: DocumentStorage {
    let store: DossierStore
    let patient: PatientID
    let key: LazyDataKey

    var database: Database { store.database }
    var documents: ColumnFamily { store.families.documents }
    var contents: ColumnFamily { store.families.contents }

    /// The record's data key, read once per transaction (nil: the record has no sealed data).
    final class LazyDataKey: @unchecked Sendable {
        // @unchecked: used by one transaction at a time, under the record's lock.
        private var loaded: SymmetricKey??
        private let load: () throws -> SymmetricKey?
        init(_ load: @escaping () throws -> SymmetricKey?) { self.load = load }
        func get() throws -> SymmetricKey? {
            if let loaded { return loaded }
            let key = try load()
            loaded = .some(key)
            return key
        }
    }

    func open(_ value: some ContiguousBytes, at storageKey: [UInt8]) throws -> [UInt8] {
        guard let key = try key.get() else { throw CorruptValueError(family: "sealed value without a data key") }
        return try Sealing.open(value, key: key, boundTo: storageKey)
    }

    func document(_ id: String) throws -> Document? {
        let storageKey = Keys.documentEntry(patient, .document, id)
        guard Self.isPlausibleID(id), let bytes = try database.get(storageKey, in: documents) else { return nil }
        return try DocumentCodec.decodeDocument(try open(bytes, at: storageKey))
    }

    func documentID(clientUniqueID: String, author: Principal) throws -> String? {
        guard let dataKey = try key.get() else { return nil }
        let blinded = DossierStore.blindedID(clientUniqueID, key: dataKey)
        let key = Keys.clientIndex(patient, .clientID, author, blindedID: blinded)
        return try database.get(key, in: documents).map { String(decoding: $0, as: UTF8.self) }
    }

    func hasDocuments(authoredBy author: Principal) throws -> Bool {
        let prefix = Keys.clientIndexPrefix(patient, .clientID, author)
        return try !database.entries(withPrefix: prefix, in: documents, limit: 1).isEmpty
    }

    func forEachDocument(newestFirst: Bool, after: String?, _ body: (Document) throws -> Bool) throws {
        let prefix = Keys.documentEntry(patient, .document)
        var lower = prefix
        var upper = Iterator.upperBound(forPrefix: prefix)
        if let after {
            let cursor = Keys.documentEntry(patient, .document, after)
            if newestFirst { upper = cursor } else { lower = cursor + [0x00] }
        }
        let iterator = try database.iterator(in: documents, lowerBound: lower, upperBound: upper)
        if newestFirst { iterator.seekToLast() } else { iterator.seekToFirst() }
        while iterator.isValid {
            let document = try DocumentCodec.decodeDocument(try open(iterator.value, at: iterator.key))
            guard try body(document) else { break }
            if newestFirst { iterator.previous() } else { iterator.next() }
        }
        try iterator.checkError()
    }

    func documentCount() throws -> UInt64 {
        guard let bytes = try database.get(Keys.documentCount(patient), in: documents) else { return 0 }
        guard let count = Keys.decodeUInt64(bytes) else { throw CorruptValueError(family: Keys.Family.documents) }
        return count
    }

    /// Chunks are keyed by their offset: seek to the last chunk starting at or before `offset`,
    /// then open and copy forward.
    func readContent(_ content: ContentID, offset: UInt64, length: Int) throws -> [UInt8] {
        let prefix = Keys.contentPrefix(patient, content)
        let iterator = try database.iterator(in: contents, prefix: prefix)
        iterator.seekForPrev(Keys.contentChunk(patient, content, offset: offset))
        if !iterator.isValid { iterator.seekToFirst() }
        var result: [UInt8] = []
        result.reserveCapacity(length)
        let end = offset + UInt64(length)
        while iterator.isValid, result.count < length {
            let storageKey = iterator.key
            guard let chunkStart = Keys.decodeUInt64(Array(storageKey.suffix(8))) else {
                throw CorruptValueError(family: Keys.Family.contents)
            }
            if chunkStart >= end { break }
            let bytes = try open(iterator.value, at: storageKey)
            let chunkEnd = chunkStart + UInt64(bytes.count)
            let from = max(offset, chunkStart)
            let to = min(end, chunkEnd)
            if from < to {
                result.append(contentsOf: bytes[Int(from - chunkStart)..<Int(to - chunkStart)])
            }
            iterator.next()
        }
        try iterator.checkError()
        return result
    }

    func upload(_ id: String) throws -> UploadSession? {
        let storageKey = Keys.documentEntry(patient, .upload, id)
        guard let bytes = try database.get(storageKey, in: documents) else { return nil }
        return try DocumentCodec.decodeUpload(try open(bytes, at: storageKey))
    }

    func uploadID(clientUniqueID: String, creator: Principal) throws -> String? {
        guard let dataKey = try key.get() else { return nil }
        let blinded = DossierStore.blindedID(clientUniqueID, key: dataKey)
        let key = Keys.clientIndex(patient, .uploadClientID, creator, blindedID: blinded)
        return try database.get(key, in: documents).map { String(decoding: $0, as: UTF8.self) }
    }

    func openUploadCount(creator: Principal, at now: Date) throws -> Int {
        let prefix = Keys.clientIndexPrefix(patient, .uploadClientID, creator)
        var count = 0
        for entry in try database.entries(withPrefix: prefix, in: documents) {
            if let upload = try upload(String(decoding: entry.value, as: UTF8.self)), upload.state == .open,
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
    func documentStorage(_ patient: PatientID) -> StoreDocumentStorage {
        StoreDocumentStorage(store: self, patient: patient, key: .init { [self] in try dataKey(patient) })
    }

    /// Stages a transaction's document, content and upload changes, sealed with the record's
    /// data key (created with the first document).
    func stageDocuments(_ transaction: RecordTransaction, in batch: WriteBatch) throws {
        let changes = transaction.documentChanges
        guard !changes.isEmpty else { return }
        let patient = transaction.patientID
        let key = try dataKey(patient, creatingIn: batch)
        for document in changes.documents.values {
            let storageKey = Keys.documentEntry(patient, .document, document.id)
            batch.put(storageKey, try Sealing.seal(try DocumentCodec.encode(document), key: key, boundTo: storageKey), in: families.documents)
            let blinded = Self.blindedID(document.submission.clientUniqueID, key: key)
            batch.put(Keys.clientIndex(patient, .clientID, document.author, blindedID: blinded), Array(document.id.utf8), in: families.documents)
        }
        if changes.deposited > 0 {
            let count = try documentStorage(patient).documentCount() + changes.deposited
            batch.put(Keys.documentCount(patient), Keys.encode(count), in: families.documents)
        }
        for (content, bytes) in changes.contents {
            try stageContent(bytes[...], startingAt: 0, as: content, of: patient, key: key, in: batch)
        }
        for upload in changes.uploads.values {
            try stageUpload(upload, key: key, in: batch)
        }
        for upload in changes.deletedUploads {
            stageDeletion(of: upload, key: key, in: batch)
        }
    }

    /// Contents are sealed in pieces of 64 KiB, each keyed by its offset: a ranged read opens
    /// only the pieces it needs (a 64 KiB read of a 1 MiB document decrypts 64–128 KiB, not
    /// 1 MiB), for 29 bytes of overhead per piece.
    static let sealedPiece = 64 << 10

    /// Stages `bytes`, which start at `start` in the content, as sealed pieces.
    func stageContent(
        _ bytes: ArraySlice<UInt8>, startingAt start: UInt64, as content: ContentID, of patient: PatientID, key: SymmetricKey,
        in batch: WriteBatch
    ) throws {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let end = min(bytes.endIndex, index + Self.sealedPiece)
            let storageKey = Keys.contentChunk(patient, content, offset: start + UInt64(index - bytes.startIndex))
            batch.put(storageKey, try Sealing.seal(bytes[index..<end], key: key, boundTo: storageKey), in: families.contents)
            index = end
        }
    }

    func stageUpload(_ upload: UploadSession, key: SymmetricKey, in batch: WriteBatch) throws {
        let patient = upload.patientID
        let storageKey = Keys.documentEntry(patient, .upload, upload.id)
        batch.put(storageKey, try Sealing.seal(try DocumentCodec.encode(upload), key: key, boundTo: storageKey), in: families.documents)
        batch.put(Self.uploadIndex(upload, key: key), Array(upload.id.utf8), in: families.documents)
        batch.put(Keys.uploadOwner(upload.id), Array(patient.rawValue.utf8), in: families.documents)
    }

    /// The session's client-id index key (its creator's blinded client unique id).
    static func uploadIndex(_ upload: UploadSession, key: SymmetricKey) -> [UInt8] {
        Keys.clientIndex(
            upload.patientID, .uploadClientID, upload.creator, blindedID: blindedID(upload.submission.clientUniqueID, key: key))
    }

    /// Removes a session, its index entries and (unless `keepingContent`) its staged chunks.
    func stageDeletion(of upload: UploadSession, key: SymmetricKey, in batch: WriteBatch, keepingContent: Bool = false) {
        let patient = upload.patientID
        batch.delete(Keys.documentEntry(patient, .upload, upload.id), in: families.documents)
        batch.delete(Self.uploadIndex(upload, key: key), in: families.documents)
        batch.delete(Keys.uploadOwner(upload.id), in: families.documents)
        guard !keepingContent else { return }
        let prefix = Keys.contentPrefix(patient, upload.content)
        if let upper = Iterator.upperBound(forPrefix: prefix) {
            batch.deleteRange(from: prefix, to: upper, in: families.contents)
        }
    }
}

extension DossierStore: UploadRepository {
    public func changeUpload<T: Sendable>(
        _ id: String, _ body: @escaping @Sendable (inout UploadChunkChange) throws -> T
    ) async throws -> T {
        try await run { [self] in
            let owner: PatientID? =
                StoreDocumentStorage.isPlausibleID(id)
                ? try database.get(Keys.uploadOwner(id), in: families.documents).flatMap {
                    PatientID(rawValue: String(decoding: $0, as: UTF8.self))
                } : nil
            let lockKeys = owner.map { [$0.rawValue] } ?? []
            // The record's lock covers the checks and the write, not the fsync (WALSync): the
            // next chunk of a pipelined upload (or the record's next transaction) is written
            // while this one's fsync runs, and they may share it. Nothing is acknowledged before it.
            let (result, ticket, written) = try locks.withLocks(for: lockKeys) {
                let current = try owner.flatMap { try documentStorage($0).upload(id) }
                var change = UploadChunkChange(current: current)
                let result = try body(&change)
                let batch = WriteBatch()
                if let owner, change.updated != nil || change.chunk != nil {
                    let key = try dataKey(owner, creatingIn: batch)
                    if let updated = change.updated { try stageUpload(updated, key: key, in: batch) }
                    if let chunk = change.chunk {
                        try stageContent(chunk.data[...], startingAt: chunk.offset, as: chunk.content, of: owner, key: key, in: batch)
                    }
                }
                guard !batch.isEmpty else { return (result, nil as UInt64?, nil as (@Sendable () -> Void)?) }
                let ticket = try walSync.write { try database.write(batch, sync: false) }
                return (result, ticket, change.written)
            }
            written?()
            if let ticket { try walSync.waitDurable(ticket) } else { try walSync.barrier() }
            return result
        }
    }
}

extension DossierStore {
    /// Deletes upload sessions past their expiry (open ones idle too long, completed ones kept
    /// long enough for retried completions), with the staged chunks of open ones (a completed
    /// session's chunks are its document's content); returns how many. The server runs it with
    /// the hourly purge.
    public func sweepExpiredUploads(at now: Date) async throws -> Int {
        try await run { [self] in
            var owners: [(uploadID: String, patient: PatientID)] = []
            try database.scan(prefix: [0x7E, UInt8(ascii: "U")], in: families.documents) { key, value in
                if let patient = PatientID(rawValue: String(decoding: value, as: UTF8.self)) {
                    owners.append((String(decoding: key.dropFirst(2), as: UTF8.self), patient))
                }
                return true
            }
            var swept = 0
            for owner in owners {
                try locks.withLocks(for: [owner.patient.rawValue]) {
                    guard let session = try documentStorage(owner.patient).upload(owner.uploadID), session.isExpired(at: now),
                        let key = try dataKey(owner.patient)
                    else { return }
                    let batch = WriteBatch()
                    stageDeletion(of: session, key: key, in: batch, keepingContent: session.state == .completed)
                    try database.write(batch, sync: true)
                    swept += 1
                }
            }
            return swept
        }
    }
}
