import DossierStore

/// The shard column: how every row of a record carries the record's handle apart from its key,
/// so that a distributed PostgreSQL (Citus, YugabyteDB) can place a record's rows together and
/// route a query on one record to one node.
///
/// A key that starts with 0x01 belongs to a record: its first 16 bytes are the record's handle.
/// Every other key (indexes `~…`, `meta`'s letters) is global: its shard is empty.
enum Shard {
    static let handleLength = 16
    static let recordMarker: UInt8 = 0x01

    static func of(_ key: [UInt8]) -> [UInt8] {
        guard key.count >= handleLength, key[0] == recordMarker else { return [] }
        return Array(key[0..<handleLength])
    }

    /// The keys of records lie in [recordsLower, recordsUpper).
    static let recordsLower: [UInt8] = [recordMarker]
    static let recordsUpper: [UInt8] = [recordMarker + 1]
}

/// A key range cut where the primary key (shard, key) orders rows the same way as the key
/// alone, so that each piece is one index range scan: rows are ordered by (shard, key), and
/// while within one piece that equals key order, global rows below 0x01, the records, and
/// global rows above 0x02 are three separate runs of the index.
struct ShardedRange: Equatable {
    enum Shards: Equatable {
        /// One shard: a record's rows, or the global rows (the empty shard).
        case exactly([UInt8])
        /// The records' shards from `lower` through `upper` (both inclusive).
        case between([UInt8], [UInt8])
    }

    var shards: Shards
    /// Inclusive.
    var lower: [UInt8]
    /// Exclusive; nil: open.
    var upper: [UInt8]?

    /// The pieces of `lower <= key < upper`, in key order; none when the range is empty.
    static func pieces(from lower: [UInt8]?, to upper: [UInt8]?) -> [ShardedRange] {
        let lower = lower ?? []
        var pieces: [ShardedRange] = []
        // Global keys below the records.
        if lower.lexicographicallyPrecedes(Shard.recordsLower) {
            let end = min(upper, Shard.recordsLower)
            pieces.append(ShardedRange(shards: .exactly([]), lower: lower, upper: end))
        }
        // The records.
        let recordsFrom = max(lower, Shard.recordsLower)
        let recordsTo = min(upper, Shard.recordsUpper)
        pieces.append(ShardedRange(shards: recordShards(from: recordsFrom, to: recordsTo), lower: recordsFrom, upper: recordsTo))
        // Global keys above the records.
        let globalFrom = max(lower, Shard.recordsUpper)
        pieces.append(ShardedRange(shards: .exactly([]), lower: globalFrom, upper: upper))
        return pieces.filter { !$0.isEmpty }
    }

    var isEmpty: Bool {
        guard let upper else { return false }
        return !lower.lexicographicallyPrecedes(upper)
    }

    /// The shards of the record keys in [lower, upper): a key's first 16 bytes are monotone in
    /// the key, so they lie between the bounds' first 16 bytes; when the range ends before the
    /// next handle, they are one record's.
    private static func recordShards(from lower: [UInt8], to upper: [UInt8]) -> Shards {
        let first = Array(lower.prefix(Shard.handleLength))
        if first.count == Shard.handleLength, let next = StoreKeyRange.upperBound(forPrefix: first), !next.lexicographicallyPrecedes(upper) {
            return .exactly(first)
        }
        return .between(first, Array(upper.prefix(Shard.handleLength)))
    }

    private static func min(_ bound: [UInt8]?, _ other: [UInt8]) -> [UInt8] {
        guard let bound else { return other }
        return bound.lexicographicallyPrecedes(other) ? bound : other
    }

    private static func max(_ bound: [UInt8], _ other: [UInt8]) -> [UInt8] {
        bound.lexicographicallyPrecedes(other) ? other : bound
    }
}
