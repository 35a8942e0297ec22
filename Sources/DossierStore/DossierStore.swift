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
    /// Every family's memtables together (flushed past it): with the block cache and the
    /// in-flight budget, what bounds the server's memory (decision 0006).
    public var memtableBytes: Int = 256 << 20
    /// Directory of the key store (records' handles and data keys, decision 0004): its own
    /// RocksDB instance, kept apart from the data directory and its backups.
    public var keyStorePath: String
    /// Wraps the records' data keys (`dossierd --master-key`; never created by the store).
    public var masterKey: MasterKey
    /// The master key being rotated away from: data keys it wraps still open, and
    /// `rewrapDataKeys` moves them to `masterKey`.
    public var previousMasterKey: MasterKey?
    /// Accept a data directory or key store that other users may read (refused by default).
    public var allowOpenPermissions = false

    public init(
        path: String, keyStorePath: String, masterKey: MasterKey, threads: Int = 32, blockCacheBytes: Int = 256 << 20,
        previousMasterKey: MasterKey? = nil
    ) {
        self.path = path
        self.keyStorePath = keyStorePath
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
    /// The records' handles and data keys (decision 0004).
    let keyStore: KeyStore
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

    /// Opens (or creates) the store and its key store. Fails fast with a clear message on an
    /// unusable directory, a master key that is not the key store's, or a key store that is not
    /// the data directory's.
    public init(configuration: StoreConfiguration) throws {
        if let previous = configuration.previousMasterKey, previous.id == configuration.masterKey.id {
            throw SealingError("the previous master key is the current one")
        }
        let data = URL(fileURLWithPath: configuration.path).standardizedFileURL.path
        let keys = URL(fileURLWithPath: configuration.keyStorePath).standardizedFileURL.path
        guard keys != data, !keys.hasPrefix(data + "/"), !data.hasPrefix(keys + "/") else {
            throw KeyStoreError("the key store must be apart from the data directory (neither inside the other): the keys must not travel with the data's copies")
        }
        Permissions.restrictNewFiles()
        try Permissions.makePrivateDirectory(configuration.path, allowOpen: configuration.allowOpenPermissions)
        var options = Self.databaseOptions(blockCacheBytes: configuration.blockCacheBytes)
        options.totalWriteBufferBytes = configuration.memtableBytes
        database = try Database.open(path: configuration.path, options: options)
        walSync = WALSync(database: database)
        let families = Families(
            records: database.family(Keys.Family.records)!,
            documents: database.family(Keys.Family.documents)!,
            contents: database.family(Keys.Family.contents)!,
            grants: database.family(Keys.Family.grants)!,
            accessLog: database.family(Keys.Family.accessLog)!,
            notifications: database.family(Keys.Family.notifications)!,
            meta: database.family(Keys.Family.meta)!)
        self.families = families
        do {
            keyStore = try Self.openKeyStore(configuration, database: database, families: families)
        } catch {
            database.close()
            throw error
        }
        executor = BlockingExecutor(threads: configuration.threads, name: "dossier-store")
    }

    /// The key store, checked against the data directory: the directory names the key store it
    /// belongs to (meta "F"); a new key store is made only for a data directory without data.
    private static func openKeyStore(_ configuration: StoreConfiguration, database: Database, families: Families) throws -> KeyStore {
        let format = try database.get(Keys.format, in: families.meta)
        let holdsData = try format != nil || !database.entries(withPrefix: [UInt8](), in: families.records, limit: 1).isEmpty
        if holdsData, format == nil {
            throw KeyStoreError(
                "the data directory \(configuration.path) was written by an earlier version (patient ids in keys, data keys inside it); this version cannot open it")
        }
        let keyStore = try KeyStore(
            path: configuration.keyStorePath, masterKey: configuration.masterKey, previousMasterKey: configuration.previousMasterKey,
            mayCreate: !holdsData, allowOpenPermissions: configuration.allowOpenPermissions)
        if let format {
            guard format.first == Keys.formatVersion, Array(format.dropFirst()) == keyStore.id else {
                keyStore.close()
                throw KeyStoreError(
                    "the key store \(configuration.keyStorePath) is not the one of the data directory \(configuration.path) (another key store id): give the key store it was made with")
            }
        } else {
            do {
                try database.put(Keys.format, [Keys.formatVersion] + keyStore.id, in: families.meta, sync: true)
            } catch {
                keyStore.close()
                throw error
            }
        }
        return keyStore
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

    /// A secret of this deployment for `purpose` (e.g. sealing page tokens), stable across
    /// restarts: derived from the key store's index key, so it never appears on any disk.
    public func derivedSecret(_ purpose: String) -> [UInt8] {
        keyStore.blindIndex("dossier-derived-secret-v1\u{0}" + purpose)
    }

    /// The id of the master key new data keys are wrapped with, and of the previous one.
    public var masterKeyIDs: (current: String, previous: String?) { (keyStore.masterKey.id, keyStore.previousMasterKey?.id) }

    /// Waits for queued work, then closes RocksDB and the key store. Call once, after the
    /// server drained.
    public func close() {
        executor.shutdown()
        try? database.syncWAL()  // what is still in the log buffer (nothing acknowledged is)
        database.close()
        keyStore.close()
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
            let (result, ticket) = try locks.withLocks(for: patients.map(\.rawValue)) { (held: borrowing StripedLocks.Held) -> (T, Int64?) in
                var keys = try patients.map { try keyStore.keys(for: $0) }
                var transactions = try zip(patients, keys).map { patient, keys in
                    RecordTransaction(
                        patientID: patient, current: try keys.flatMap(loadRecord),
                        settings: try keys.map { try AccessSettingsCodec.load($0, from: database, family: families.grants) } ?? .init(),
                        storage: keys.map(documentStorage) ?? NoDocumentStorage())
                }
                let result = try body(&transactions)
                // A record written for the first time gets its handle and data key, in the key
                // store, before any of its data.
                let new = transactions.indices.filter { keys[$0] == nil && transactions[$0].record != nil }
                if !new.isEmpty {
                    for (index, made) in zip(new, try keyStore.create(for: new.map { patients[$0] })) { keys[index] = made }
                }
                let batch = WriteBatch()
                for (transaction, keys) in zip(transactions, keys) {
                    guard let keys else { continue }
                    try stage(transaction, keys: keys, in: batch)
                }
                guard !batch.isEmpty else { return (result, nil) }
                let logEntries = transactions.reduce(0) { $0 + $1.logEntries.count }
                // A refusal and nothing else (e.g. a stranger's denied GetRecord): its log entry
                // is made durable right after the answer instead of before it, so that a refusal
                // on an existing record costs what one on a missing record costs (nothing to
                // write there): timing does not tell whether a record exists.
                let deferred = transactions.allSatisfy { $0.onlyLogsRefusals || $0.logEntries.isEmpty && $0.withheldLogEntries.isEmpty }
                guard held.isContended || deferred else {
                    try database.write(batch, sync: true)
                    counters.recordBatch(operations: batch.count, logEntries: logEntries)
                    return (result, 0)
                }
                let ticket = Int64(try walSync.write { try database.write(batch, sync: false) })
                counters.recordBatch(operations: batch.count, logEntries: logEntries)
                return (result, deferred ? -ticket : ticket)
            }
            // Nothing written: wait only for the writes this transaction may have read.
            if let ticket, ticket < 0 {
                let durable = UInt64(-ticket)
                DispatchQueue.global(qos: .utility).async { [walSync] in try? walSync.waitDurable(durable) }
            } else if let ticket {
                try walSync.waitDurable(UInt64(ticket))
            } else {
                try walSync.barrier()
            }
            return result
        }
    }

    /// A record's changes, sealed with its keys. A transaction on a record that does not
    /// exist stages nothing: attempts on a missing record have no log to go to.
    private func stage(_ transaction: RecordTransaction, keys: RecordKeys, in batch: WriteBatch) throws {
        let handle = keys.handle
        if let updated = transaction.updated {
            let key = Keys.record(handle)
            batch.put(key, try keys.seal(try RecordCodec.encode(updated), at: key), in: families.records)
        }
        if let settings = transaction.updatedSettings, transaction.record != nil {
            try AccessSettingsCodec.stage(
                settings, replacing: transaction.settings, keys: keys, delegationIndex: keyStore.blindIndex, in: batch,
                family: families.grants)
        }
        guard transaction.record != nil else { return }
        try stageDocuments(transaction, keys: keys, in: batch)
        for (documentID, entry) in transaction.withheldLogEntries {
            let key = Keys.withheldEntry(handle, documentID: documentID, time: entry.time)
            batch.put(key, try keys.seal(try RecordCodec.encode(entry, sequence: 0, prevHash: [], entryHash: []), at: key), in: families.accessLog)
        }
        var (head, headHash) = try logHead(keys)
        // A document released to the patient brings its withheld entries into the log, in their
        // own order, before this transaction's entries (decision 0005).
        var released: [AccessLogEntry] = []
        for documentID in transaction.releasedDocumentIDs {
            let prefix = Keys.withheldPrefix(handle, documentID: documentID)
            for stored in try database.entries(withPrefix: prefix, in: families.accessLog) {
                released.append(try RecordCodec.decodeLogEntry(try keys.open(stored.value, at: stored.key)).entry)
                batch.delete(stored.key, in: families.accessLog)
            }
        }
        for entry in released + transaction.logEntries {
            head += 1
            let entryHash = [UInt8](SHA256.hash(data: LogChain.canonicalBytes(entry, patient: keys.patient, sequence: head, prevHash: headHash)))
            let key = Keys.logEntry(handle, sequence: head)
            batch.put(
                key, try keys.seal(try RecordCodec.encode(entry, sequence: head, prevHash: headHash, entryHash: entryHash), at: key),
                in: families.accessLog)
            headHash = entryHash
            if let event = StatisticsEvent(entry) {
                batch.put(Keys.statisticsEvent(StatisticsMonth(containing: entry.time), event), [UInt8](), in: families.meta)
            }
        }
        if !transaction.logEntries.isEmpty || !released.isEmpty {
            // In clear: a count and a hash (docs/DATA-MODEL.md), read by every transaction.
            batch.put(Keys.logHead(handle), Keys.encode(head) + headHash, in: families.accessLog)
        }
        try stageNotifications(transaction, keys: keys, logHead: head, now: transaction.logEntries.last?.time ?? Date(), in: batch)
    }

    func loadRecord(_ keys: RecordKeys) throws -> Record? {
        let key = Keys.record(keys.handle)
        guard let bytes = try database.get(key, in: families.records) else { return nil }
        return try RecordCodec.decodeRecord(try keys.open(bytes, at: key))
    }

    /// The last sequence and its entry hash (0 and zeros for an empty log). The head value is
    /// sequence (u64 BE) ‖ entry hash (32 bytes), in clear.
    func logHead(_ keys: RecordKeys) throws -> (sequence: UInt64, hash: [UInt8]) {
        guard let bytes = try database.get(Keys.logHead(keys.handle), in: families.accessLog) else { return (0, LogChain.zeroHash) }
        guard bytes.count == 40, let head = Keys.decodeUInt64(Array(bytes.prefix(8))) else {
            throw CorruptValueError(family: Keys.Family.accessLog)
        }
        return (head, Array(bytes.suffix(32)))
    }
}
