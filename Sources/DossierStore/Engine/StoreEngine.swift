import Foundation

/// The families of the store (docs/DATA-MODEL.md): RocksDB column families in the embedded
/// engine, tables on PostgreSQL. Every value a record owns is sealed before it reaches one.
public enum StoreFamily: String, CaseIterable, Sendable {
    case records
    case documents
    case contents
    case grants
    case accessLog = "access_log"
    case notifications
    case meta
}

/// One key and its value.
public struct StoreEntry: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// One change of a batch.
public enum StoreOperation: Sendable, Hashable {
    case put(StoreFamily, key: [UInt8], value: [UInt8])
    case delete(StoreFamily, key: [UInt8])
    /// Every key `k` with `from <= k < to`.
    case deleteRange(StoreFamily, from: [UInt8], to: [UInt8])
}

/// Changes applied together or not at all, in order.
public final class StoreBatch {
    public private(set) var operations: [StoreOperation]

    public init(_ operations: [StoreOperation] = []) {
        self.operations = operations
    }

    public var count: Int { operations.count }
    public var isEmpty: Bool { operations.isEmpty }

    public func put(_ key: [UInt8], _ value: [UInt8], in family: StoreFamily) {
        operations.append(.put(family, key: key, value: value))
    }

    public func delete(_ key: [UInt8], in family: StoreFamily) {
        operations.append(.delete(family, key: key))
    }

    public func deleteRange(from: [UInt8], to: [UInt8], in family: StoreFamily) {
        operations.append(.deleteRange(family, from: from, to: to))
    }
}

/// When a write may return.
public enum StoreDurability: Sendable, Hashable {
    /// Once it survives a crash (and, on PostgreSQL, reached the standbys
    /// `synchronous_commit` asks for).
    case durable
    /// Once every later read sees it; durable shortly after. Only for writes that acknowledge
    /// nothing (a refusal's log entry), so that they cost what a write that never happens costs.
    case visible
}

/// The storage engine under `DossierStore`: an ordered key-value store per family, with atomic
/// batches. The embedded RocksDB and PostgreSQL (target DossierPostgres) implement it; what both
/// share — the key layout, sealing, codecs, the log's hashing, the key store — sits above it
/// (decision 0009).
///
/// Every method blocks: the store calls them from its executor threads, never from an event
/// loop. Keys compare as unsigned bytes (memcmp order).
public protocol StoreEngine: Sendable {
    /// A short name for logs and `config check` ("rocksdb", "postgres").
    var name: String { get }

    func get(_ key: [UInt8], in family: StoreFamily) throws -> [UInt8]?

    /// Calls `body` with the entries whose keys `k` satisfy `lower <= k < upper` (nil: that side
    /// open), in key order or reverse key order, until `body` returns false. A scan reads what
    /// was committed before it began or while it runs; callers hold the record's lock.
    func scan(
        _ family: StoreFamily, from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool,
        _ body: (StoreEntry) throws -> Bool
    ) throws

    /// Applies `batch` atomically, returning as `durability` says.
    func write(_ batch: StoreBatch, durability: StoreDurability) throws

    /// Releases the engine's resources. Called once, after the last call.
    func close()
}

extension StoreEngine {
    /// The entries whose keys start with `prefix`, at most `limit`.
    public func entries(withPrefix prefix: [UInt8], in family: StoreFamily, reverse: Bool = false, limit: Int = .max) throws -> [StoreEntry] {
        var entries: [StoreEntry] = []
        guard limit > 0 else { return entries }
        try scan(family, from: prefix, to: StoreKeyRange.upperBound(forPrefix: prefix), reverse: reverse) { entry in
            entries.append(entry)
            return entries.count < limit
        }
        return entries
    }

    /// Calls `body` with each entry whose key starts with `prefix`.
    public func scan(prefix: [UInt8], in family: StoreFamily, reverse: Bool = false, _ body: (StoreEntry) throws -> Bool) throws {
        try scan(family, from: prefix, to: StoreKeyRange.upperBound(forPrefix: prefix), reverse: reverse, body)
    }

    public func put(_ key: [UInt8], _ value: [UInt8], in family: StoreFamily) throws {
        let batch = StoreBatch()
        batch.put(key, value, in: family)
        try write(batch, durability: .durable)
    }
}

/// Key ranges.
public enum StoreKeyRange {
    /// The smallest key greater than every key that starts with `prefix`: the prefix without
    /// its trailing 0xFF bytes, last byte incremented; nil when none exists (no upper bound).
    public static func upperBound(forPrefix prefix: [UInt8]) -> [UInt8]? {
        var bound = prefix
        while let last = bound.last {
            if last < 0xFF {
                bound[bound.count - 1] = last + 1
                return bound
            }
            bound.removeLast()
        }
        return nil
    }
}

/// The engine cannot be reached, or lost its connection in the middle of a call (e.g. while
/// PostgreSQL fails over): the call may be retried. Nothing was acknowledged.
public struct StoreUnavailableError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
