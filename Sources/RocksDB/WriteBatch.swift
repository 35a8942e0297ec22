internal import CRocksDB

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Puts and deletes collected in memory and applied atomically, across column
/// families, by `Database.write(_:sync:)`.
///
/// Keys and values are copied into the batch when added. All families of one batch
/// must belong to the same database. A batch is not `Sendable`: build it on the thread
/// that writes it.
public final class WriteBatch {
    let pointer: OpaquePointer
    /// The database whose families the batch refers to (the batch records family ids,
    /// which mean nothing to another database).
    private var core: DatabaseCore?
    /// A failure while adding (closed database, foreign family), thrown by `write`.
    private var deferredError: RocksDBError?

    /// Creates an empty batch.
    public init() {
        pointer = rocksdb_writebatch_create()
    }

    deinit {
        rocksdb_writebatch_destroy(pointer)
    }

    /// The number of operations in the batch.
    public var count: Int {
        Int(rocksdb_writebatch_count(pointer))
    }

    /// Whether the batch has no operations.
    public var isEmpty: Bool {
        count == 0
    }

    /// Adds a put of `value` under `key` in `family`.
    public func put(
        _ key: some ContiguousBytes, _ value: some ContiguousBytes, in family: ColumnFamily
    ) {
        add(in: family) { handle in
            key.withCBytes { key, keyLength in
                value.withCBytes { value, valueLength in
                    rocksdb_writebatch_put_cf(pointer, handle, key, keyLength, value, valueLength)
                }
            }
        }
    }

    /// Adds a delete of `key` in `family`.
    public func delete(_ key: some ContiguousBytes, in family: ColumnFamily) {
        add(in: family) { handle in
            key.withCBytes { key, keyLength in
                rocksdb_writebatch_delete_cf(pointer, handle, key, keyLength)
            }
        }
    }

    /// Adds a delete of every key `k` of `family` with `start <= k < end`.
    public func deleteRange(
        from start: some ContiguousBytes, to end: some ContiguousBytes, in family: ColumnFamily
    ) {
        add(in: family) { handle in
            start.withCBytes { start, startLength in
                end.withCBytes { end, endLength in
                    rocksdb_writebatch_delete_range_cf(
                        pointer, handle, start, startLength, end, endLength)
                }
            }
        }
    }

    /// Removes every operation, and any error recorded while adding them.
    public func clear() {
        rocksdb_writebatch_clear(pointer)
        core = nil
        deferredError = nil
    }

    /// Runs `body` with the family's C handle, under its database's lock; a failure is
    /// kept for `write` so that adding stays non-throwing.
    private func add(in family: ColumnFamily, _ body: (OpaquePointer) -> Void) {
        guard deferredError == nil else { return }
        if let core, core !== family.core {
            deferredError = .foreignFamily
            return
        }
        core = family.core
        do {
            try family.core.withFamily(family) { _, handle, _ in body(handle) }
        } catch {
            // `withFamily` only throws RocksDBError (closed database).
            deferredError = error as? RocksDBError ?? .closed
        }
    }

    /// Throws the error recorded while adding, or if the batch is for another database.
    func checkWritable(to database: DatabaseCore) throws {
        if let deferredError { throw deferredError }
        if let core, core !== database { throw RocksDBError.foreignFamily }
    }
}
