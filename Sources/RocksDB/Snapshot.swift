internal import CRocksDB

/// A consistent point-in-time view of the database, for reads and iterators that must
/// not see later writes. Released when the last reference goes away (or when the
/// database closes, after which reads with it throw).
///
/// `@unchecked Sendable`: the C snapshot is immutable and RocksDB allows reading
/// through it from any thread; the read options holding it are never modified after
/// `init`; releasing happens once, in `deinit` or in `Database.close()`, under the
/// database's lock.
public final class Snapshot: @unchecked Sendable {
    /// Keeps the database open-able until the snapshot is released.
    private let database: Database
    private let child: NativeChild
    /// Read options with this snapshot set, owned by the snapshot.
    private let snapshotReadOptions: OpaquePointer

    init(database: Database) throws {
        let child = try database.core.makeChild(.snapshot) { db, _ in
            rocksdb_create_snapshot(db)
        }
        let readOptions = rocksdb_readoptions_create()!
        rocksdb_readoptions_set_snapshot(readOptions, child.pointer)
        self.database = database
        self.child = child
        self.snapshotReadOptions = readOptions
    }

    deinit {
        database.core.releaseChild(child)
        rocksdb_readoptions_destroy(snapshotReadOptions)
    }

    /// The C read options for reading through this snapshot from `core`'s database.
    func readOptions(for core: DatabaseCore) throws -> OpaquePointer {
        guard database.core === core else { throw RocksDBError.foreignSnapshot }
        return snapshotReadOptions
    }

    /// The C snapshot, for iterator read options; only valid under the database lock.
    func pointer(for core: DatabaseCore) throws -> OpaquePointer {
        guard database.core === core else { throw RocksDBError.foreignSnapshot }
        guard let pointer = child.pointer else { throw RocksDBError.closed }
        return pointer
    }
}

extension Database {
    /// Takes a snapshot of the current state.
    public func snapshot() throws -> Snapshot {
        try Snapshot(database: self)
    }
}
