internal import CRocksDB

/// The C handles of one open database and the lock that keeps `close()` from racing
/// any other call.
///
/// `@unchecked Sendable` because every mutable property is guarded: `db`,
/// `familyHandles` and `options` by `lock` (read side for every call, write side only
/// in `close()`), `children` by `registryLock`. The C handles themselves are
/// thread-safe: RocksDB synchronizes concurrent reads and writes internally (writes
/// from many threads are group-committed), so calls hold only the read side and never
/// wait for each other.
final class DatabaseCore: @unchecked Sendable {
    private let lock = ReadWriteLock()
    private var db: OpaquePointer?
    private var familyHandles: [OpaquePointer]
    private var options: NativeOptions?

    private let registryLock = Lock()
    /// Iterators and snapshots not yet destroyed by their owners; `close()` destroys
    /// them first, because RocksDB requires that before the database goes away.
    private var children: [ObjectIdentifier: NativeChild] = [:]

    init(db: OpaquePointer, familyHandles: [OpaquePointer], options: NativeOptions) {
        self.db = db
        self.familyHandles = familyHandles
        self.options = options
    }

    deinit {
        close()
    }

    var isClosed: Bool {
        lock.withReadLock { db == nil }
    }

    /// Runs `body` with the open database, or throws if it is closed.
    func withDatabase<Result>(
        _ body: (OpaquePointer, NativeOptions) throws -> Result
    ) throws -> Result {
        try lock.withReadLock {
            guard let db, let options else { throw RocksDBError.closed }
            return try body(db, options)
        }
    }

    /// Runs `body` with the open database and the C handle of `family`.
    func withFamily<Result>(
        _ family: ColumnFamily,
        _ body: (_ db: OpaquePointer, _ family: OpaquePointer, NativeOptions) throws -> Result
    ) throws -> Result {
        guard family.core === self else { throw RocksDBError.foreignFamily }
        return try withDatabase { db, options in
            try body(db, familyHandles[family.index], options)
        }
    }

    /// Creates a child C object under the read lock and registers it, so that `close()`
    /// either runs before (and `create` is never called) or sees the child.
    func makeChild(
        _ kind: NativeChild.Kind, in family: ColumnFamily? = nil,
        _ create: (_ db: OpaquePointer, _ family: OpaquePointer?) throws -> OpaquePointer
    ) throws -> NativeChild {
        func register(_ db: OpaquePointer, _ handle: OpaquePointer?) throws -> NativeChild {
            let child = NativeChild(kind: kind, pointer: try create(db, handle))
            registryLock.withLock { children[ObjectIdentifier(child)] = child }
            return child
        }
        if let family {
            return try withFamily(family) { db, handle, _ in try register(db, handle) }
        }
        return try withDatabase { db, _ in try register(db, nil) }
    }

    /// Runs `body` with a child's C object, or with `nil` once `close()` destroyed it.
    func withChild<Result>(
        _ child: NativeChild, _ body: (OpaquePointer?) throws -> Result
    ) rethrows -> Result {
        try lock.withReadLock { try body(child.pointer) }
    }

    /// Destroys a child's C object unless `close()` already did, and forgets it.
    func releaseChild(_ child: NativeChild) {
        lock.withReadLock {
            // Only the child's owner (in its deinit) and `close()` (under the write lock)
            // touch `child.pointer`, so writing it under the read lock does not race.
            if let pointer = child.pointer, let db {
                child.destroy(pointer, db: db)
            }
            child.pointer = nil
        }
        registryLock.withLock { children[ObjectIdentifier(child)] = nil }
    }

    /// Destroys iterators, releases snapshots, destroys family handles, closes the
    /// database and frees its options, in that order. Idempotent.
    func close() {
        lock.withWriteLock {
            guard let db else { return }
            let live = registryLock.withLock {
                defer { children.removeAll() }
                return Array(children.values)
            }
            for kind in [NativeChild.Kind.iterator, .snapshot] {
                for child in live where child.kind == kind {
                    if let pointer = child.pointer {
                        child.destroy(pointer, db: db)
                    }
                    child.pointer = nil
                }
            }
            for handle in familyHandles {
                rocksdb_column_family_handle_destroy(handle)
            }
            familyHandles = []
            rocksdb_close(db)
            self.db = nil
            options = nil
        }
    }
}

/// A C object whose lifetime is bounded by its database's: an iterator or a snapshot.
final class NativeChild: @unchecked Sendable {
    // @unchecked: `pointer` is guarded by the owning DatabaseCore's lock (see
    // `DatabaseCore.releaseChild`).
    enum Kind {
        case iterator
        case snapshot
    }

    let kind: Kind
    var pointer: OpaquePointer?

    init(kind: Kind, pointer: OpaquePointer) {
        self.kind = kind
        self.pointer = pointer
    }

    func destroy(_ pointer: OpaquePointer, db: OpaquePointer) {
        switch kind {
        case .iterator: rocksdb_iter_destroy(pointer)
        case .snapshot: rocksdb_release_snapshot(db, pointer)
        }
    }
}
