import Foundation
import RocksDB
import Synchronization

/// What the store counts for the metrics endpoint.
public final class StoreCounters: Sendable {
    public struct Snapshot: Sendable {
        public var syncedBatches: UInt64 = 0
        /// Histogram of operations per synced batch: upper bounds → count (cumulative on output).
        public var batchOperations: [Int: UInt64] = [:]
        public var batchOperationsSum: UInt64 = 0
        public var accessLogAppends: UInt64 = 0
        /// Refusals' log writes made after the answer (DeferredWrites) tried again, and given up.
        public var deferredWriteRetries: UInt64 = 0
        public var deferredWritesLost: UInt64 = 0
    }

    public static let batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096]
    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func recordBatch(operations: Int, logEntries: Int) {
        state.withLock { state in
            state.syncedBatches += 1
            state.batchOperationsSum += UInt64(operations)
            let bucket = Self.batchBuckets.first { operations <= $0 } ?? Int.max
            state.batchOperations[bucket, default: 0] += 1
            state.accessLogAppends += UInt64(logEntries)
        }
    }

    func recordDeferredWrite(lost: Bool) {
        state.withLock { state in
            if lost { state.deferredWritesLost += 1 } else { state.deferredWriteRetries += 1 }
        }
    }
}

extension DossierStore {
    /// RocksDB figures for monitoring: sizes, compaction debt and write stalls (summed over the
    /// column families where RocksDB reports them per family).
    public func storageFigures() -> [(name: String, help: String, value: UInt64)] {
        guard let database = rocks?.database else { return [] }
        let properties: [(String, String, String)] = [
            ("rocksdb.estimate-live-data-size", "dossier_rocksdb_live_data_bytes", "Estimated live data size in bytes."),
            ("rocksdb.total-sst-files-size", "dossier_rocksdb_sst_files_bytes", "Total size of the table files in bytes."),
            ("rocksdb.estimate-pending-compaction-bytes", "dossier_rocksdb_pending_compaction_bytes", "Bytes compaction still has to rewrite."),
            ("rocksdb.num-running-compactions", "dossier_rocksdb_running_compactions", "Compactions running now."),
            ("rocksdb.is-write-stopped", "dossier_rocksdb_write_stopped", "1 while RocksDB stops writes (stall)."),
            ("rocksdb.actual-delayed-write-rate", "dossier_rocksdb_delayed_write_rate", "Write rate limit in bytes/s while writes are delayed, 0 otherwise."),
            ("rocksdb.cur-size-all-mem-tables", "dossier_rocksdb_memtable_bytes", "Size of the memtables in bytes."),
            ("rocksdb.estimate-table-readers-mem", "dossier_rocksdb_table_readers_bytes",
             "Memory of the table readers (indexes and filters outside the block cache) in bytes."),
        ]
        let familyNames = Keys.Family.all
        var figures = properties.map { property, name, help in
            let perFamily = familyNames.compactMap { database.family($0) }.compactMap { try? database.integerProperty(property, in: $0) }
            let value = perFamily.isEmpty ? ((try? database.integerProperty(property)) ?? 0) : perFamily.reduce(0, +)
            return (name: name, help: help, value: value)
        }
        // The block cache (blob cache included) is shared by every family: counted once.
        for (property, name, help) in [
            ("rocksdb.block-cache-usage", "dossier_rocksdb_block_cache_bytes", "Memory held by the shared block cache in bytes."),
            ("rocksdb.block-cache-pinned-usage", "dossier_rocksdb_block_cache_pinned_bytes",
             "Block-cache memory pinned by iterators and table readers in bytes."),
            ("rocksdb.block-cache-capacity", "dossier_rocksdb_block_cache_capacity_bytes", "Capacity of the block cache in bytes."),
        ] {
            let value = database.family(Keys.Family.documents).flatMap { try? database.integerProperty(property, in: $0) } ?? 0
            figures.append((name: name, help: help, value: value))
        }
        return figures
    }
}
