public import DossierCore
import Foundation
import RocksDB

/// Purge: the record's keys are destroyed in the key store first (crypto-shredding: whatever
/// the data directory, its files or any data backup still hold can no longer be opened nor
/// linked to the patient), then every key of the record, in every family, is deleted in one
/// synced batch; flush and compaction then remove the data from the files.
extension DossierStore: PurgeRepository {
    public func closedRecords() async throws -> [(patient: PatientID, purgeAfter: Date?)] {
        try await run { [self] in
            try allRecords().compactMap { _, record in record.storedState == .closed ? (record.patientID, record.purgeAfter) : nil }
        }
    }

    /// When the record's last access-log entry was made (the head's entry: entries are appended
    /// in time order; withheld ones join with older times), nil when the log is empty.
    func lastLogEntryTime(_ keys: RecordKeys) throws -> Date? {
        let head = try logHead(keys).sequence
        guard head > 0 else { return nil }
        let key = Keys.logEntry(keys.handle, sequence: head)
        guard let value = try engine.get(key, in: .accessLog) else { throw CorruptValueError(family: Keys.Family.accessLog) }
        return try RecordCodec.decodeLogEntry(try keys.open(value, at: key)).entry.time
    }

    /// Every record with its keys, in handle order; data without keys (a purge interrupted
    /// between its two writes) is skipped.
    func allRecords() throws -> [(RecordKeys, Record)] {
        var handles: [RecordHandle] = []
        try engine.scan(prefix: [], in: .records) { entry in
            if let handle = RecordHandle(entry.key) { handles.append(handle) }
            return true
        }
        return try handles.compactMap { handle in
            guard let keys = try keyStore.keys(for: handle), let record = try loadRecord(keys) else { return nil }
            return (keys, record)
        }
    }

    public func purge(_ patient: PatientID, if isDue: @escaping @Sendable (Record, Date?) -> Bool) async throws -> Bool {
        try await run { [self] in
            try locks.withLocks(for: [patient.rawValue]) {
                if rocks == nil { deferredWrites.wait(for: [patient.rawValue]) }
                guard let keys = try keyStore.keys(for: patient), let record = try loadRecord(keys),
                    isDue(record, try lastLogEntryTime(keys))
                else { return false }
                let handle = keys.handle
                let settings = try AccessSettingsCodec.load(keys, from: engine)
                let batch = StoreBatch()
                batch.delete(Keys.record(handle), in: .records)
                for delegation in settings.delegations {
                    batch.delete(Keys.delegationIndex(keyStore.blindIndex(delegation.delegateID), handle: handle), in: .grants)
                }
                let uploads = Keys.documentEntry(handle, .upload)
                for entry in try engine.entries(withPrefix: uploads, in: .documents) {
                    batch.delete(Keys.uploadOwner(String(decoding: entry.key.dropFirst(uploads.count), as: UTF8.self)), in: .documents)
                }
                for family in [StoreFamily.documents, .contents, .grants, .accessLog, .notifications] {
                    // handle ‖ 0x00 … (entries) and handle ‖ 0x01 (heads and counters).
                    batch.deleteRange(from: handle.bytes + [0x00], to: handle.bytes + [0x02], in: family)
                }
                try stageStatistics(try statisticsChanges(ofPurging: record, settings: settings, keys: keys, at: Date()), in: batch)
                // Keys first: if the process dies between the two writes, what is left of the
                // record cannot be opened, and the next purge run's compaction removes it.
                try keyStore.destroy(keys)
                try engine.write(batch, durability: .durable)
                return true
            }
        }
    }

    /// Rewrites RocksDB's files without the purged records' (unreadable) data. PostgreSQL's
    /// autovacuum reclaims the deleted rows by itself.
    public func compactAfterPurge() async throws {
        guard let rocks else { return }
        let database = rocks.database
        let contents = rocks.family(.contents)
        try await run { [self] in
            try database.flush()
            for family in [StoreFamily.records, .documents, .grants, .accessLog, .notifications, .meta] {
                try database.compactRange(in: rocks.family(family), forceBottommostLevel: true)
            }
            // Purged contents are in blob files with others' contents: for this compaction, blob
            // garbage collection moves every live blob out of every file, so that the files
            // holding purged (already unreadable) contents are deleted.
            // One such compaction at a time (the hourly job and Admin.RunPurge may overlap).
            try purgeCompaction.withLock {
                try database.setOptions(
                    ["enable_blob_garbage_collection": "true", "blob_garbage_collection_age_cutoff": "1.0"], in: contents)
                let compacted = Result { try database.compactRange(in: contents, forceBottommostLevel: true) }
                try database.setOptions(
                    ["enable_blob_garbage_collection": "false", "blob_garbage_collection_age_cutoff": "0.25"], in: contents)
                try compacted.get()
            }
        }
    }
}

extension DossierStore: RecordDirectory {
    public func patientIDs() async throws -> [PatientID] {
        try await run { [self] in try allRecords().map { $0.1.patientID } }
    }
}
