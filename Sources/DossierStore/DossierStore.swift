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
    /// Opens the engine the records live in; nil: the embedded RocksDB at `path` (decision 0009).
    public var engine: (@Sendable () throws -> any StoreEngine)?

    /// How messages name where the data is.
    var dataDescription: String { engine == nil ? "directory \(path)" : "database" }

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

/// Records, their documents, access settings, access logs and notifications, sealed, on a
/// storage engine: the embedded RocksDB or PostgreSQL (decision 0009).
///
/// Every commit is one atomic batch, durable before the call returns: on RocksDB a synced WAL
/// write (concurrent commits share fsyncs through its write groups), on PostgreSQL a committed
/// transaction.
public final class DossierStore: Sendable {
    /// Where the families live.
    let engine: any StoreEngine
    /// The embedded engine's own features (shared fsyncs, checkpoints, compaction, metrics);
    /// nil on another engine.
    let rocks: RocksDBEngine?
    /// The records' handles and data keys (decision 0004).
    let keyStore: KeyStore
    /// Counts for the metrics endpoint.
    public let counters = StoreCounters()
    private let executor: BlockingExecutor
    let locks = StripedLocks()
    /// Refusal-only writes made after the answer, on an engine without RocksDB's deferred fsync.
    let deferredWrites: DeferredWrites
    /// The statistics rows' sealing key and fold (decision 0010).
    let statistics: StatisticsLedger
    /// Serializes the purge's blob garbage collection (it switches a family option on and off).
    let purgeCompaction = NSLock()

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
        if let open = configuration.engine {
            engine = try open()
            rocks = nil
        } else {
            try Permissions.makePrivateDirectory(configuration.path, allowOpen: configuration.allowOpenPermissions)
            let embedded = try RocksDBEngine(
                path: configuration.path, blockCacheBytes: configuration.blockCacheBytes, memtableBytes: configuration.memtableBytes)
            engine = embedded
            rocks = embedded
        }
        do {
            keyStore = try Self.openKeyStore(configuration, engine: engine)
        } catch {
            engine.close()
            throw error
        }
        executor = BlockingExecutor(threads: configuration.threads, name: "dossier-store")
        deferredWrites = DeferredWrites(counters: counters)
        statistics = StatisticsLedger(key: keyStore.blindIndex("dossier-derived-secret-v1\u{0}statistics"))
        do {
            try openStatistics()
        } catch {
            close()
            throw error
        }
    }

    /// The key store, checked against the data directory: the directory names the key store it
    /// belongs to (meta "F"); a new key store is made only for a data directory without data.
    private static func openKeyStore(_ configuration: StoreConfiguration, engine: any StoreEngine) throws -> KeyStore {
        let format = try engine.get(Keys.format, in: .meta)
        let holdsData = try format != nil || !engine.entries(withPrefix: [], in: .records, limit: 1).isEmpty
        if holdsData, format == nil {
            throw KeyStoreError(
                "the data \(configuration.dataDescription) was written by an earlier version (patient ids in keys, data keys inside it); this version cannot open it")
        }
        let keyStore = try KeyStore(
            path: configuration.keyStorePath, masterKey: configuration.masterKey, previousMasterKey: configuration.previousMasterKey,
            mayCreate: !holdsData, allowOpenPermissions: configuration.allowOpenPermissions)
        if let format {
            guard format.first == Keys.formatVersion, Array(format.dropFirst()) == keyStore.id else {
                keyStore.close()
                throw KeyStoreError(
                    "the key store \(configuration.keyStorePath) is not the one of the data \(configuration.dataDescription) (another key store id): give the key store it was made with")
            }
        } else {
            do {
                try engine.put(Keys.format, [Keys.formatVersion] + keyStore.id, in: .meta)
            } catch {
                keyStore.close()
                throw error
            }
        }
        return keyStore
    }

    /// A secret of this deployment for `purpose` (e.g. sealing page tokens), stable across
    /// restarts: derived from the key store's index key, so it never appears on any disk.
    public func derivedSecret(_ purpose: String) -> [UInt8] {
        keyStore.blindIndex("dossier-derived-secret-v1\u{0}" + purpose)
    }

    /// Whether `createBackup` can run: the server's backups are the embedded engine's
    /// checkpoints (on PostgreSQL, PostgreSQL's tools).
    public var takesBackups: Bool { rocks != nil }

    /// The id of the master key new data keys are wrapped with, and of the previous one.
    public var masterKeyIDs: (current: String, previous: String?) { (keyStore.masterKey.id, keyStore.previousMasterKey?.id) }

    /// Waits for queued work, then closes RocksDB and the key store. Call once, after the
    /// server drained.
    public func close() {
        executor.shutdown()
        deferredWrites.drain()
        engine.close()
        keyStore.close()
    }

    /// Runs blocking storage work off the caller's thread.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await executor.run(body)
    }

    /// Runs a read without the record's lock, then waits until whatever it may have seen is
    /// durable (WALSync.barrier): its answer never shows a write a crash could undo.
    func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await executor.run { [rocks] in
            let result = try body()
            try rocks?.walSync.barrier()
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
            let lockKeys = patients.map(\.rawValue)
            let (result, ticket) = try locks.withLocks(for: lockKeys) { (held: borrowing StripedLocks.Held) -> (T, Int64?) in
                if rocks == nil { deferredWrites.wait(for: lockKeys) }
                var keys = try patients.map { try keyStore.keys(for: $0) }
                var transactions = try zip(patients, keys).map { patient, keys in
                    RecordTransaction(
                        patientID: patient, current: try keys.flatMap(loadRecord),
                        settings: try keys.map { try AccessSettingsCodec.load($0, from: engine) } ?? .init(),
                        storage: keys.map(documentStorage) ?? NoDocumentStorage())
                }
                let result = try body(&transactions)
                // A record written for the first time gets its handle and data key, in the key
                // store, before any of its data.
                let new = transactions.indices.filter { keys[$0] == nil && transactions[$0].record != nil }
                if !new.isEmpty {
                    for (index, made) in zip(new, try keyStore.create(for: new.map { patients[$0] })) { keys[index] = made }
                }
                let batch = StoreBatch()
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
                guard let rocks, held.isContended || deferred else {
                    counters.recordBatch(operations: batch.count, logEntries: logEntries)
                    // Another engine: a refusal alone is written after the answer (DeferredWrites;
                    // PostgreSQL's asynchronous commit), anything else committed under the lock.
                    let operations = batch.operations
                    if deferred, deferredWrites.submit(for: lockKeys, { [engine] in try engine.write(StoreBatch(operations), durability: .visible) }) {
                        return (result, 0)
                    }
                    try engine.write(batch, durability: deferred ? .visible : .durable)
                    return (result, 0)
                }
                let native = rocks.writeBatch(batch)
                let ticket = Int64(try rocks.walSync.write { try rocks.database.write(native, sync: false) })
                counters.recordBatch(operations: batch.count, logEntries: logEntries)
                return (result, deferred ? -ticket : ticket)
            }
            // Nothing written: wait only for the writes this transaction may have read.
            guard let walSync = rocks?.walSync else { return result }
            if let ticket, ticket < 0 {
                let durable = UInt64(-ticket)
                DispatchQueue.global(qos: .utility).async { try? walSync.waitDurable(durable) }
            } else if let ticket, ticket > 0 {
                try walSync.waitDurable(UInt64(ticket))
            } else if ticket == nil {
                try walSync.barrier()
            }
            return result
        }
    }

    /// A record's changes, sealed with its keys. A transaction on a record that does not
    /// exist stages nothing: attempts on a missing record have no log to go to.
    private func stage(_ transaction: RecordTransaction, keys: RecordKeys, in batch: StoreBatch) throws {
        let handle = keys.handle
        if let updated = transaction.updated {
            let key = Keys.record(handle)
            batch.put(key, try keys.seal(try RecordCodec.encode(updated), at: key), in: .records)
        }
        if let settings = transaction.updatedSettings, transaction.record != nil {
            try AccessSettingsCodec.stage(
                settings, replacing: transaction.settings, keys: keys, delegationIndex: keyStore.blindIndex, in: batch)
        }
        guard transaction.record != nil else { return }
        try stageDocuments(transaction, keys: keys, in: batch)
        for (documentID, entry) in transaction.withheldLogEntries {
            let key = Keys.withheldEntry(handle, documentID: documentID, time: entry.time)
            batch.put(key, try keys.seal(try RecordCodec.encode(entry, sequence: 0, prevHash: [], entryHash: []), at: key), in: .accessLog)
        }
        var (head, headHash) = try logHead(keys)
        // A document released to the patient brings its withheld entries into the log, in their
        // own order, before this transaction's entries (decision 0005).
        var released: [AccessLogEntry] = []
        for documentID in transaction.releasedDocumentIDs {
            let prefix = Keys.withheldPrefix(handle, documentID: documentID)
            for stored in try engine.entries(withPrefix: prefix, in: .accessLog) {
                released.append(try RecordCodec.decodeLogEntry(try keys.open(stored.value, at: stored.key)).entry)
                batch.delete(stored.key, in: .accessLog)
            }
        }
        for entry in released + transaction.logEntries {
            head += 1
            let entryHash = [UInt8](SHA256.hash(data: LogChain.canonicalBytes(entry, patient: keys.patient, sequence: head, prevHash: headHash)))
            let key = Keys.logEntry(handle, sequence: head)
            batch.put(
                key, try keys.seal(try RecordCodec.encode(entry, sequence: head, prevHash: headHash, entryHash: entryHash), at: key),
                in: .accessLog)
            headHash = entryHash
        }
        try stageStatistics(try statisticsChanges(of: transaction, loggedEvents: released + transaction.logEntries), in: batch)
        if !transaction.logEntries.isEmpty || !released.isEmpty {
            // In clear: a count and a hash (docs/DATA-MODEL.md), read by every transaction.
            batch.put(Keys.logHead(handle), Keys.encode(head) + headHash, in: .accessLog)
        }
        try stageNotifications(transaction, keys: keys, logHead: head, now: transaction.logEntries.last?.time ?? Date(), in: batch)
    }

    func loadRecord(_ keys: RecordKeys) throws -> Record? {
        let key = Keys.record(keys.handle)
        guard let bytes = try engine.get(key, in: .records) else { return nil }
        return try RecordCodec.decodeRecord(try keys.open(bytes, at: key))
    }

    /// The last sequence and its entry hash (0 and zeros for an empty log). The head value is
    /// sequence (u64 BE) ‖ entry hash (32 bytes), in clear.
    func logHead(_ keys: RecordKeys) throws -> (sequence: UInt64, hash: [UInt8]) {
        guard let bytes = try engine.get(Keys.logHead(keys.handle), in: .accessLog) else { return (0, LogChain.zeroHash) }
        guard bytes.count == 40, let head = Keys.decodeUInt64(Array(bytes.prefix(8))) else {
            throw CorruptValueError(family: Keys.Family.accessLog)
        }
        return (head, Array(bytes.suffix(32)))
    }
}
