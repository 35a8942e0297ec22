public import DossierCore
import Foundation
import RocksDB

/// Purge: every key of a record, in every family, deleted in one synced batch; the data key
/// goes with it (crypto-shredding: whatever a file may still hold until compaction cannot be
/// opened). Then flush and compaction of the deleted ranges remove the data from the files.
extension DossierStore: PurgeRepository {
    public func closedRecords() async throws -> [(patient: PatientID, purgeAfter: Date?)] {
        try await run { [self] in
            var closed: [(PatientID, Date?)] = []
            try database.scan(prefix: [UInt8](), in: families.records) { _, value in
                let record = try RecordCodec.decodeRecord([UInt8](value))
                if record.storedState == .closed { closed.append((record.patientID, record.purgeAfter)) }
                return true
            }
            return closed
        }
    }

    public func purge(_ patient: PatientID, if isDue: @escaping @Sendable (Record) -> Bool) async throws -> Bool {
        try await run { [self] in
            try locks.withLocks(for: [patient.rawValue]) {
                guard let record = try loadRecord(patient), isDue(record) else { return false }
                let batch = WriteBatch()
                batch.delete(Keys.dataKey(patient), in: families.meta)
                batch.delete(Keys.record(patient), in: families.records)
                let settings = try AccessSettingsCodec.load(patient, from: database, family: families.grants)
                for delegation in settings.delegations {
                    batch.delete(Keys.delegationIndex(delegation.delegateID, patient: patient), in: families.grants)
                }
                for entry in try database.entries(withPrefix: Keys.documentEntry(patient, .upload), in: families.documents) {
                    let uploadID = String(decoding: entry.key.dropFirst(Keys.documentEntry(patient, .upload).count), as: UTF8.self)
                    batch.delete(Keys.uploadOwner(uploadID), in: families.documents)
                }
                let id = Array(patient.rawValue.utf8)
                for family in [families.documents, families.contents, families.grants, families.accessLog, families.notifications] {
                    // patient ‖ 0x00 … (entries) and patient ‖ 0x01 (heads and counters).
                    batch.deleteRange(from: id + [0x00], to: id + [0x02], in: family)
                }
                batch.put(Keys.purgeEvent(StatisticsMonth(containing: Date())), [UInt8](), in: families.meta)
                try database.write(batch, sync: true)
                return true
            }
        }
    }

    public func compactAfterPurge() async throws {
        try await run { [self] in
            try database.flush()
            for family in [families.records, families.documents, families.grants, families.accessLog,
                           families.notifications, families.meta] {
                try database.compactRange(in: family, forceBottommostLevel: true)
            }
            // Purged contents are in blob files with others' contents: for this compaction, blob
            // garbage collection moves every live blob out of every file, so that the files
            // holding purged (already unreadable) contents are deleted.
            // One such compaction at a time (the hourly job and Admin.RunPurge may overlap).
            try purgeCompaction.withLock {
                try database.setOptions(
                    ["enable_blob_garbage_collection": "true", "blob_garbage_collection_age_cutoff": "1.0"], in: families.contents)
                let compacted = Result { try database.compactRange(in: families.contents, forceBottommostLevel: true) }
                try database.setOptions(
                    ["enable_blob_garbage_collection": "false", "blob_garbage_collection_age_cutoff": "0.25"], in: families.contents)
                try compacted.get()
            }
        }
    }
}

extension DossierStore: RecordDirectory {
    public func patientIDs() async throws -> [PatientID] {
        try await run { [self] in
            var patients: [PatientID] = []
            try database.scan(prefix: [UInt8](), in: families.records) { key, _ in
                if let patient = PatientID(rawValue: String(decoding: key, as: UTF8.self)) { patients.append(patient) }
                return true
            }
            return patients
        }
    }
}
