import Foundation
import RocksDB

/// The embedded engine: one RocksDB database, a column family per `StoreFamily`. Beyond the
/// seam it offers what only RocksDB has, which `DossierStore` uses when it runs on it: the
/// shared fsync of writes made under a record's lock (WALSync, decision 0003), checkpoints
/// (backups), compaction after a purge, and its properties for the metrics endpoint.
final class RocksDBEngine: StoreEngine {
    let database: Database
    /// The shared fsync of writes made under a record's lock.
    let walSync: WALSync
    private let families: [ColumnFamily]

    var name: String { "rocksdb" }

    /// Opens (or creates) the database at `path` with every family.
    convenience init(path: String, blockCacheBytes: Int, memtableBytes: Int) throws {
        var options = Self.databaseOptions(blockCacheBytes: blockCacheBytes)
        options.totalWriteBufferBytes = memtableBytes
        try self.init(database: try Database.open(path: path, options: options))
    }

    init(database: Database) throws {
        self.database = database
        walSync = WALSync(database: database)
        families = StoreFamily.allCases.map { database.family($0.rawValue)! }
    }

    /// RocksDB's options for the store's families.
    static func databaseOptions(blockCacheBytes: Int) -> DatabaseOptions {
        var options = DatabaseOptions()
        options.blockCacheBytes = blockCacheBytes
        // Unsynced writes stay in RocksDB's log buffer until WALSync's leader writes out and
        // fsyncs everyone's at once (synced writes still write and fsync their own).
        options.manualWALFlush = true
        for family in StoreFamily.allCases {
            options.columnFamilies[family.rawValue] = ColumnFamilyOptions()
        }
        // Contents are sealed (random bytes: compression is wasted work) and large: their
        // pieces live in blob files, written once at flush and never rewritten by compaction.
        // Contents are deleted only by purges and abandoned uploads, so blob garbage collection
        // runs only with the purge's compaction (compactAfterPurge).
        options.columnFamilies[StoreFamily.contents.rawValue] = ColumnFamilyOptions(
            enableBlobFiles: true, minBlobSize: 4096, enableBlobGarbageCollection: false, compression: .none)
        return options
    }

    func family(_ family: StoreFamily) -> ColumnFamily {
        families[StoreFamily.allCases.firstIndex(of: family)!]
    }

    func get(_ key: [UInt8], in family: StoreFamily) throws -> [UInt8]? {
        try database.get(key, in: self.family(family))
    }

    func scan(
        _ family: StoreFamily, from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool,
        _ body: (StoreEntry) throws -> Bool
    ) throws {
        let iterator = try database.iterator(in: self.family(family), lowerBound: lower, upperBound: upper)
        if reverse { iterator.seekToLast() } else { iterator.seekToFirst() }
        while iterator.isValid {
            guard try body(StoreEntry(key: iterator.key, value: iterator.value)) else { break }
            if reverse { iterator.previous() } else { iterator.next() }
        }
        try iterator.checkError()
    }

    /// The batch as RocksDB's.
    func writeBatch(_ batch: StoreBatch) -> WriteBatch {
        let native = WriteBatch()
        for operation in batch.operations {
            switch operation {
            case let .put(family, key, value): native.put(key, value, in: self.family(family))
            case let .delete(family, key): native.delete(key, in: self.family(family))
            case let .deleteRange(family, from, to): native.deleteRange(from: from, to: to, in: self.family(family))
            }
        }
        return native
    }

    func write(_ batch: StoreBatch, durability: StoreDurability) throws {
        let native = writeBatch(batch)
        switch durability {
        case .durable:
            try database.write(native, sync: true)
        case .visible:
            let ticket = try walSync.write { try database.write(native, sync: false) }
            DispatchQueue.global(qos: .utility).async { [walSync] in try? walSync.waitDurable(ticket) }
        }
    }

    func close() {
        try? database.syncWAL()  // what is still in the log buffer (nothing acknowledged is)
        database.close()
    }
}
