#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A key and its value, copied out of the database.
public struct Entry: Sendable, Hashable {
    /// The key.
    public var key: [UInt8]
    /// The value stored under `key`.
    public var value: [UInt8]

    /// Creates an entry.
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

extension Database {
    /// An iterator over the keys `k` of `family` with `lowerBound <= k < upperBound`
    /// (a `nil` bound leaves that side open). It starts unpositioned: seek first.
    public func iterator(
        in family: ColumnFamily, lowerBound: [UInt8]? = nil, upperBound: [UInt8]? = nil,
        snapshot: Snapshot? = nil
    ) throws -> Iterator {
        try Iterator(
            database: self, family: family, lowerBound: lowerBound, upperBound: upperBound,
            snapshot: snapshot)
    }

    /// An iterator over the keys of `family` that start with `prefix`, in either
    /// direction. It starts unpositioned: seek first.
    public func iterator(
        in family: ColumnFamily, prefix: some ContiguousBytes, snapshot: Snapshot? = nil
    ) throws -> Iterator {
        let prefix = prefix.byteArray
        return try iterator(
            in: family, lowerBound: prefix, upperBound: Iterator.upperBound(forPrefix: prefix),
            snapshot: snapshot)
    }

    /// Calls `body` with each entry of `family` whose key starts with `prefix`, in key
    /// order (or reverse order), without copying; the buffers are valid only inside
    /// `body`. Return `false` from `body` to stop.
    ///
    /// A forward scan of a prefix at least as long as the family's `prefixLength` uses
    /// the family's prefix Bloom filters.
    public func scan(
        prefix: some ContiguousBytes, in family: ColumnFamily, reverse: Bool = false,
        snapshot: Snapshot? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        let prefix = prefix.byteArray
        let usesPrefixFilter = !reverse && prefix.count >= (family.prefixLength ?? .max)
        let iterator = try Iterator(
            database: self, family: family, lowerBound: prefix,
            upperBound: Iterator.upperBound(forPrefix: prefix), snapshot: snapshot,
            prefixSameAsStart: usesPrefixFilter)
        if reverse { iterator.seekToLast() } else { iterator.seekToFirst() }
        while iterator.isValid {
            guard try iterator.withEntry(body) else { break }
            if reverse { iterator.previous() } else { iterator.next() }
        }
        try iterator.checkError()
    }

    /// The entries of `family` whose keys start with `prefix`, in key order (or
    /// reverse order), at most `limit` of them.
    public func entries(
        withPrefix prefix: some ContiguousBytes, in family: ColumnFamily, reverse: Bool = false,
        limit: Int = .max, snapshot: Snapshot? = nil
    ) throws -> [Entry] {
        var entries: [Entry] = []
        guard limit > 0 else { return entries }
        try scan(prefix: prefix, in: family, reverse: reverse, snapshot: snapshot) { key, value in
            entries.append(Entry(key: Array(key), value: Array(value)))
            return entries.count < limit
        }
        return entries
    }
}

extension Iterator {
    /// The smallest key greater than every key that starts with `prefix`: the prefix
    /// without its trailing 0xFF bytes, last byte incremented. `nil` when no such key
    /// exists (an empty prefix, or only 0xFF bytes), meaning "no upper bound".
    public static func upperBound(forPrefix prefix: [UInt8]) -> [UInt8]? {
        var bound = prefix
        while let last = bound.last {
            if last == 0xFF {
                bound.removeLast()
            } else {
                bound[bound.count - 1] = last + 1
                return bound
            }
        }
        return nil
    }
}
