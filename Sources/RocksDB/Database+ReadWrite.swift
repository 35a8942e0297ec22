internal import CRocksDB

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension Database {
    /// The value stored under `key` in `family`, or `nil` if there is none.
    ///
    /// - Parameter snapshot: read as of this snapshot instead of the latest state.
    public func get(
        _ key: some ContiguousBytes, in family: ColumnFamily, snapshot: Snapshot? = nil
    ) throws -> [UInt8]? {
        try withValue(forKey: key, in: family, snapshot: snapshot) { Array($0) }
    }

    /// Calls `body` with the value stored under `key` without copying it, and returns
    /// its result; returns `nil` (without calling `body`) if there is no such key.
    ///
    /// The buffer is valid only inside `body`. The value is read into a pinned slice,
    /// so this avoids the copy `rocksdb_get_cf` would make.
    public func withValue<Result>(
        forKey key: some ContiguousBytes, in family: ColumnFamily, snapshot: Snapshot? = nil,
        _ body: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        try core.withFamily(family) { db, handle, options in
            let readOptions = try snapshot?.readOptions(for: core) ?? options.plainRead
            let slice = try key.withCBytes { key, keyLength in
                try ffiTry { rocksdb_get_pinned_cf(db, readOptions, handle, key, keyLength, $0) }
            }
            // NULL without an error means "not found".
            guard let slice else { return nil }
            defer { rocksdb_pinnableslice_destroy(slice) }
            var length = 0
            let value = rocksdb_pinnableslice_value(slice, &length)
            return try body(UnsafeRawBufferPointer(start: value, count: length))
        }
    }

    /// The values of `keys` in `family`, in the same order; `nil` where a key is absent.
    /// One batched lookup, cheaper than a `get` per key.
    public func multiGet<Key: ContiguousBytes>(
        _ keys: [Key], in family: ColumnFamily, snapshot: Snapshot? = nil
    ) throws -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        // One arena keeps every key at a stable address for the duration of the call.
        var arena: [UInt8] = []
        var ranges: [Range<Int>] = []
        for key in keys {
            key.withUnsafeBytes { bytes in
                ranges.append(arena.count..<(arena.count + bytes.count))
                arena.append(contentsOf: bytes)
            }
        }
        return try core.withFamily(family) { db, handle, options in
            let readOptions = try snapshot?.readOptions(for: core) ?? options.plainRead
            var slices = [OpaquePointer?](repeating: nil, count: keys.count)
            defer { slices.forEach { $0.map(rocksdb_pinnableslice_destroy) } }
            try arena.withUnsafeBytes { arenaBytes in
                let pointers: [UnsafePointer<CChar>?] = ranges.map {
                    UnsafeRawBufferPointer(rebasing: arenaBytes[$0]).cBytes.pointer
                }
                let lengths = ranges.map(\.count)
                try ffiTry { error in
                    var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: keys.count)
                    rocksdb_batched_multi_get_cf(
                        db, readOptions, handle, keys.count, pointers, lengths, &slices, &errors,
                        false)
                    // Report the first per-key error through `ffiTry`; free the others.
                    for case let keyError? in errors {
                        if error.pointee == nil { error.pointee = keyError } else { rocksdb_free(keyError) }
                    }
                }
            }
            return slices.map { slice in
                slice.map { slice in
                    var length = 0
                    let value = rocksdb_pinnableslice_value(slice, &length)
                    return Array(UnsafeRawBufferPointer(start: value, count: length))
                }
            }
        }
    }

    /// Stores `value` under `key` in `family`.
    ///
    /// - Parameter sync: fsync the write-ahead log before returning; `nil` uses
    ///   `DatabaseOptions.walSyncDefault`.
    public func put(
        _ key: some ContiguousBytes, _ value: some ContiguousBytes, in family: ColumnFamily,
        sync: Bool? = nil
    ) throws {
        try core.withFamily(family) { db, handle, options in
            let writeOptions = options.write(sync: sync ?? walSyncDefault)
            try key.withCBytes { key, keyLength in
                try value.withCBytes { value, valueLength in
                    try ffiTry {
                        rocksdb_put_cf(
                            db, writeOptions, handle, key, keyLength, value, valueLength, $0)
                    }
                }
            }
        }
    }

    /// Deletes `key` from `family` (a no-op if it is absent).
    ///
    /// - Parameter sync: as for `put`.
    public func delete(_ key: some ContiguousBytes, in family: ColumnFamily, sync: Bool? = nil)
        throws
    {
        try core.withFamily(family) { db, handle, options in
            let writeOptions = options.write(sync: sync ?? walSyncDefault)
            try key.withCBytes { key, keyLength in
                try ffiTry { rocksdb_delete_cf(db, writeOptions, handle, key, keyLength, $0) }
            }
        }
    }

    /// Deletes every key `k` of `family` with `start <= k < end`.
    ///
    /// - Parameter sync: as for `put`.
    public func deleteRange(
        from start: some ContiguousBytes, to end: some ContiguousBytes, in family: ColumnFamily,
        sync: Bool? = nil
    ) throws {
        try core.withFamily(family) { db, handle, options in
            let writeOptions = options.write(sync: sync ?? walSyncDefault)
            try start.withCBytes { start, startLength in
                try end.withCBytes { end, endLength in
                    try ffiTry {
                        rocksdb_delete_range_cf(
                            db, writeOptions, handle, start, startLength, end, endLength, $0)
                    }
                }
            }
        }
    }

    /// Applies every operation of `batch` atomically, across families.
    ///
    /// With `sync` true the write-ahead log is fsync'd before this returns, so the batch
    /// survives a crash once acknowledged. Concurrent writers are not serialized here:
    /// RocksDB group-commits them, sharing one fsync among a group.
    ///
    /// - Parameter sync: `nil` uses `DatabaseOptions.walSyncDefault`.
    public func write(_ batch: WriteBatch, sync: Bool? = nil) throws {
        try batch.checkWritable(to: core)
        try core.withDatabase { db, options in
            let writeOptions = options.write(sync: sync ?? walSyncDefault)
            try ffiTry { rocksdb_write(db, writeOptions, batch.pointer, $0) }
        }
    }

    /// Fsyncs the write-ahead log: every write that returned before this call survives a
    /// crash once it returns. With `write(_:sync: false)` under a lock and this after the
    /// lock is released, a writer holds its lock only for the write, not for the fsync,
    /// and the next writer's batch can share the fsync. (Readers may see such a write
    /// before it is durable.)
    public func syncWAL() throws {
        try core.withDatabase { db, _ in
            try ffiTry { rocksdb_flush_wal(db, 1, $0) }
        }
    }
}
