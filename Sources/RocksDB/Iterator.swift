internal import CRocksDB

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A cursor over the keys of one column family, in byte order, optionally limited to
/// `lowerBound <= key < upperBound`.
///
/// Create one with `Database.iterator(in:lowerBound:upperBound:snapshot:)`. It keeps its
/// database object alive. If the database is closed, the iterator becomes invalid, moves
/// do nothing, and `checkError()` throws. Call `checkError()` after the last move: an
/// I/O error ends iteration just as the end of the range does.
///
/// Not `Sendable`: RocksDB iterators must not be used from two threads at once.
public final class Iterator {
    private let database: Database
    private let child: NativeChild
    /// Owned read options; the C iterator points into them (the bound slices).
    private let readOptions: OpaquePointer
    /// Owned copies of the bound bytes, which must outlive the C iterator.
    private let boundBytes: UnsafeMutableRawBufferPointer
    /// Keeps the snapshot (if any) from being released while the iterator reads it.
    private let snapshot: Snapshot?

    /// - Parameter prefixSameAsStart: stop at the first key whose prefix (per the
    ///   family's prefix extractor) differs from the seek target's; lets RocksDB use
    ///   prefix Bloom filters. Only correct for forward scans within one prefix.
    init(
        database: Database, family: ColumnFamily, lowerBound: [UInt8]?, upperBound: [UInt8]?,
        snapshot: Snapshot?, prefixSameAsStart: Bool = false
    ) throws {
        let core = database.core
        let readOptions = rocksdb_readoptions_create()!
        let lowerCount = lowerBound?.count ?? 0
        let boundBytes = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(1, lowerCount + (upperBound?.count ?? 0)), alignment: 1)
        if let lowerBound {
            let bytes = UnsafeMutableRawBufferPointer(rebasing: boundBytes[0..<lowerCount])
            bytes.copyBytes(from: lowerBound)
            let c = UnsafeRawBufferPointer(bytes).cBytes
            rocksdb_readoptions_set_iterate_lower_bound(readOptions, c.pointer, c.count)
        }
        if let upperBound {
            let bytes = UnsafeMutableRawBufferPointer(
                rebasing: boundBytes[lowerCount..<(lowerCount + upperBound.count)])
            bytes.copyBytes(from: upperBound)
            // An empty upper bound must still be a non-null pointer, or RocksDB drops it.
            let start = boundBytes.baseAddress!.advanced(by: lowerCount)
            rocksdb_readoptions_set_iterate_upper_bound(
                readOptions, start.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if family.prefixLength != nil {
            // With a prefix extractor, a plain seek only promises keys of the target's
            // prefix; ask for total order unless the caller scans a single prefix.
            if prefixSameAsStart {
                rocksdb_readoptions_set_prefix_same_as_start(readOptions, 1)
            } else {
                rocksdb_readoptions_set_total_order_seek(readOptions, 1)
            }
        }
        let child: NativeChild
        do {
            child = try core.makeChild(.iterator, in: family) { db, handle in
                if let snapshot {
                    rocksdb_readoptions_set_snapshot(readOptions, try snapshot.pointer(for: core))
                }
                return rocksdb_create_iterator_cf(db, readOptions, handle)
            }
        } catch {
            rocksdb_readoptions_destroy(readOptions)
            boundBytes.deallocate()
            throw error
        }
        self.database = database
        self.child = child
        self.readOptions = readOptions
        self.boundBytes = boundBytes
        self.snapshot = snapshot
    }

    deinit {
        database.core.releaseChild(child)
        rocksdb_readoptions_destroy(readOptions)
        boundBytes.deallocate()
    }

    /// Whether the iterator is positioned at an entry.
    public var isValid: Bool {
        withIterator { $0.map { rocksdb_iter_valid($0) != 0 } ?? false }
    }

    /// Moves to the first key (at or after the lower bound).
    public func seekToFirst() {
        withIterator { $0.map(rocksdb_iter_seek_to_first) }
    }

    /// Moves to the last key (before the upper bound).
    public func seekToLast() {
        withIterator { $0.map(rocksdb_iter_seek_to_last) }
    }

    /// Moves to the first key at or after `key`.
    public func seek(to key: some ContiguousBytes) {
        withIterator { iterator in
            guard let iterator else { return }
            key.withCBytes { rocksdb_iter_seek(iterator, $0, $1) }
        }
    }

    /// Moves to the last key at or before `key`.
    public func seekForPrev(_ key: some ContiguousBytes) {
        withIterator { iterator in
            guard let iterator else { return }
            key.withCBytes { rocksdb_iter_seek_for_prev(iterator, $0, $1) }
        }
    }

    /// Moves to the next key; does nothing if the iterator is not valid.
    public func next() {
        withIterator { iterator in
            guard let iterator, rocksdb_iter_valid(iterator) != 0 else { return }
            rocksdb_iter_next(iterator)
        }
    }

    /// Moves to the previous key; does nothing if the iterator is not valid.
    public func previous() {
        withIterator { iterator in
            guard let iterator, rocksdb_iter_valid(iterator) != 0 else { return }
            rocksdb_iter_prev(iterator)
        }
    }

    /// A copy of the current key. Requires `isValid` (empty if the database was closed).
    public var key: [UInt8] {
        withKey { Array($0) }
    }

    /// A copy of the current value. Requires `isValid` (empty if the database was closed).
    public var value: [UInt8] {
        withValue { Array($0) }
    }

    /// Calls `body` with the current key, without copying; the buffer is valid only
    /// inside `body`. Requires `isValid`.
    public func withKey<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        try withEntry { key, _ in try body(key) }
    }

    /// Calls `body` with the current value, without copying; the buffer is valid only
    /// inside `body`. Requires `isValid`.
    public func withValue<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows
        -> Result
    {
        try withEntry { _, value in try body(value) }
    }

    /// Calls `body` with the current key and value, without copying; the buffers are
    /// valid only inside `body`. Requires `isValid`.
    public func withEntry<Result>(
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try withIterator { iterator in
            guard let iterator else {
                let empty = UnsafeRawBufferPointer(start: nil, count: 0)
                return try body(empty, empty)
            }
            precondition(rocksdb_iter_valid(iterator) != 0, "RocksDB iterator is not valid")
            var keyLength = 0
            var valueLength = 0
            let key = rocksdb_iter_key(iterator, &keyLength)
            let value = rocksdb_iter_value(iterator, &valueLength)
            return try body(
                UnsafeRawBufferPointer(start: key, count: keyLength),
                UnsafeRawBufferPointer(start: value, count: valueLength))
        }
    }

    /// Throws if iteration stopped because of an error rather than the end of the
    /// range, or if the database was closed.
    public func checkError() throws {
        try withIterator { iterator in
            guard let iterator else { throw RocksDBError.closed }
            try ffiTry { rocksdb_iter_get_error(iterator, $0) }
        }
    }

    /// Runs `body` with the C iterator under the database lock, or with `nil` once the
    /// database has closed (and destroyed it).
    private func withIterator<Result>(_ body: (OpaquePointer?) throws -> Result) rethrows
        -> Result
    {
        try database.core.withChild(child, body)
    }
}

@available(*, unavailable)
extension Iterator: Sendable {}
