public import DossierCore
import Crypto
import Foundation
import RocksDB

/// Settings of the embedded store.
public struct StoreConfiguration: Sendable {
    /// Directory of the RocksDB database (created if missing).
    public var path: String
    /// Threads for blocking storage work (see `BlockingExecutor` for why there are many).
    public var threads: Int
    /// Shared block cache.
    public var blockCacheBytes: Int
    /// Wraps the per-record data keys (nil: `master-key` in the data directory, created on first
    /// start — development only).
    public var masterKey: MasterKey?
    /// The master key being rotated away from: data keys it wraps still open, and
    /// `rewrapDataKeys` moves them to `masterKey`.
    public var previousMasterKey: MasterKey?

    public init(
        path: String, threads: Int = 32, blockCacheBytes: Int = 256 << 20, masterKey: MasterKey? = nil,
        previousMasterKey: MasterKey? = nil
    ) {
        self.path = path
        self.threads = threads
        self.blockCacheBytes = blockCacheBytes
        self.masterKey = masterKey
        self.previousMasterKey = previousMasterKey
    }
}

/// Records, their documents, access settings, access logs and notifications, on RocksDB.
///
/// Every commit is one WriteBatch written with a synced WAL: when a call returns, what it
/// wrote survives a crash. Concurrent commits share fsyncs through RocksDB's write groups.
public final class DossierStore: Sendable {
    let database: Database
    let families: Families
    let masterKey: MasterKey
    let previousMasterKey: MasterKey?
    /// Counts for the metrics endpoint.
    public let counters = StoreCounters()
    private let executor: BlockingExecutor
    let locks = StripedLocks()
    /// The shared fsync of writes made under a record's lock.
    let walSync: WALSync
    /// Serializes the purge's blob garbage collection (it switches a family option on and off).
    let purgeCompaction = NSLock()

    struct Families: @unchecked Sendable {
        // @unchecked: column-family handles are immutable and thread-safe in RocksDB.
        let records: ColumnFamily
        let documents: ColumnFamily
        let contents: ColumnFamily
        let grants: ColumnFamily
        let accessLog: ColumnFamily
        let notifications: ColumnFamily
        let meta: ColumnFamily
    }

    /// Opens (or creates) the store. Fails fast with a clear message on an unusable directory.
    public init(configuration: StoreConfiguration) throws {
        let options = Self.databaseOptions(blockCacheBytes: configuration.blockCacheBytes)
        database = try Database.open(path: configuration.path, options: options)
        walSync = WALSync(database: database)
        do {
            masterKey = try configuration.masterKey ?? MasterKey.load(path: configuration.path + "/master-key", create: true)
            previousMasterKey = configuration.previousMasterKey
        } catch {
            database.close()
            throw error
        }
        if let previous = previousMasterKey, previous.id == masterKey.id {
            database.close()
            throw SealingError("the previous master key is the current one")
        }
        families = Families(
            records: database.family(Keys.Family.records)!,
            documents: database.family(Keys.Family.documents)!,
            contents: database.family(Keys.Family.contents)!,
            grants: database.family(Keys.Family.grants)!,
            accessLog: database.family(Keys.Family.accessLog)!,
            notifications: database.family(Keys.Family.notifications)!,
            meta: database.family(Keys.Family.meta)!)
        executor = BlockingExecutor(threads: configuration.threads, name: "dossier-store")
    }

    /// RocksDB's options for the store's families.
    static func databaseOptions(blockCacheBytes: Int) -> DatabaseOptions {
        var options = DatabaseOptions()
        options.blockCacheBytes = blockCacheBytes
        // Unsynced writes stay in RocksDB's log buffer until WALSync's leader writes out and
        // fsyncs everyone's at once (synced writes still write and fsync their own).
        options.manualWALFlush = true
        for name in Keys.Family.all {
            options.columnFamilies[name] = ColumnFamilyOptions()
        }
        // Contents are sealed (random bytes: compression is wasted work) and large: their
        // pieces live in blob files, written once at flush and never rewritten by compaction.
        // Contents are deleted only by purges and abandoned uploads, so blob garbage collection
        // runs only with the purge's compaction (compactAfterPurge).
        options.columnFamilies[Keys.Family.contents] = ColumnFamilyOptions(
            enableBlobFiles: true, minBlobSize: 4096, enableBlobGarbageCollection: false, compression: .none)
        return options
    }

    /// The id of the master key new data keys are wrapped with, and of the previous one.
    public var masterKeyIDs: (current: String, previous: String?) { (masterKey.id, previousMasterKey?.id) }

    /// Waits for queued work, then closes RocksDB. Call once, after the server drained.
    public func close() {
        executor.shutdown()
        try? database.syncWAL()  // what is still in the log buffer (nothing acknowledged is)
        database.close()
    }

    /// Runs blocking storage work off the caller's thread.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await executor.run(body)
    }

    /// Runs a read without the record's lock, then waits until whatever it may have seen is
    /// durable (WALSync.barrier): its answer never shows a write a crash could undo.
    func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await executor.run { [walSync] in
            let result = try body()
            try walSync.barrier()
            return result
        }
    }
}

extension DossierStore: RecordRepository {
    public func transact<T: Sendable>(
        _ patients: [PatientID],
        _ body: @escaping @Sendable (inout [RecordTransaction]) throws -> T
    ) async throws -> T {
        try await run { [self] in
            // The records' locks cover the reads, the checks and the write. When no other
            // transaction waits for them, the write is synced in place (RocksDB's group commit
            // shares the fsync with other records' writes). When one does (a hot record), the
            // locks are released before the fsync, which WALSync then shares with the waiters'
            // writes: the record's transactions no longer queue one fsync each.
            let (result, ticket) = try locks.withLocks(for: patients.map(\.rawValue)) { (held: borrowing StripedLocks.Held) -> (T, UInt64?) in
                var transactions = try patients.map { patient in
                    RecordTransaction(
                        patientID: patient, current: try loadRecord(patient),
                        settings: try AccessSettingsCodec.load(patient, from: database, family: families.grants),
                        storage: documentStorage(patient))
                }
                let result = try body(&transactions)
                let batch = WriteBatch()
                for transaction in transactions {
                    try stage(transaction, in: batch)
                }
                guard !batch.isEmpty else { return (result, nil) }
                let logEntries = transactions.reduce(0) { $0 + $1.logEntries.count }
                guard held.isContended else {
                    try database.write(batch, sync: true)
                    counters.recordBatch(operations: batch.count, logEntries: logEntries)
                    return (result, 0)
                }
                let ticket = try walSync.write { try database.write(batch, sync: false) }
                counters.recordBatch(operations: batch.count, logEntries: logEntries)
                return (result, ticket)
            }
            // Nothing written: wait only for the writes this transaction may have read.
            if let ticket { try walSync.waitDurable(ticket) } else { try walSync.barrier() }
            return result
        }
    }

    private func stage(_ transaction: RecordTransaction, in batch: WriteBatch) throws {
        let patient = transaction.patientID
        if let updated = transaction.updated {
            batch.put(Keys.record(patient), try RecordCodec.encode(updated), in: families.records)
        }
        if let settings = transaction.updatedSettings, transaction.record != nil {
            try AccessSettingsCodec.stage(settings, replacing: transaction.settings, of: patient, in: batch, family: families.grants)
        }
        // A log belongs to a record: attempts on a record that does not exist have nowhere to go.
        guard transaction.record != nil else { return }
        try stageDocuments(transaction, in: batch)
        var (head, headHash) = try logHead(patient)
        for entry in transaction.logEntries {
            head += 1
            let entryHash = [UInt8](SHA256.hash(data: LogChain.canonicalBytes(entry, patient: patient, sequence: head, prevHash: headHash)))
            batch.put(
                Keys.logEntry(patient, sequence: head),
                try RecordCodec.encode(entry, sequence: head, prevHash: headHash, entryHash: entryHash), in: families.accessLog)
            headHash = entryHash
            if let event = StatisticsEvent(entry) {
                batch.put(Keys.statisticsEvent(StatisticsMonth(containing: entry.time), event), [UInt8](), in: families.meta)
            }
        }
        if !transaction.logEntries.isEmpty {
            batch.put(Keys.logHead(patient), Keys.encode(head) + headHash, in: families.accessLog)
        }
        try stageNotifications(transaction, logHead: head, now: transaction.logEntries.last?.time ?? Date(), in: batch)
    }

    func loadRecord(_ patient: PatientID) throws -> Record? {
        guard let bytes = try database.get(Keys.record(patient), in: families.records) else { return nil }
        return try RecordCodec.decodeRecord(bytes)
    }

    /// The last sequence and its entry hash (0 and zeros for an empty log). The head value is
    /// sequence (u64 BE) ‖ entry hash (32 bytes).
    func logHead(_ patient: PatientID) throws -> (sequence: UInt64, hash: [UInt8]) {
        guard let bytes = try database.get(Keys.logHead(patient), in: families.accessLog) else { return (0, LogChain.zeroHash) }
        guard bytes.count == 40, let head = Keys.decodeUInt64(Array(bytes.prefix(8))) else {
            throw CorruptValueError(family: Keys.Family.accessLog)
        }
        return (head, Array(bytes.suffix(32)))
    }
}
