import DossierStore
import NIOCore
import PostgresNIO

/// The SQL for one family's table. Schema and table names are validated identifiers, written
/// into the text; every key and value travels as a binary bind, never as SQL.
struct FamilyTable: Sendable {
    let name: String

    init(schema: String, family: StoreFamily) {
        name = "\"\(schema)\".\(family.rawValue)"
    }

    func get(_ key: [UInt8]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 2)
        binds.append(ByteBuffer(bytes: Shard.of(key)))
        binds.append(ByteBuffer(bytes: key))
        return PostgresQuery(unsafeSQL: "SELECT value FROM \(name) WHERE shard = $1 AND key = $2", binds: binds)
    }

    /// At most `limit` rows of `range`, in key order or reverse.
    func page(of range: ShardedRange, reverse: Bool, limit: Int) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4)
        let condition = Self.condition(range, &binds)
        let direction = reverse ? "DESC" : "ASC"
        binds.append(limit)
        return PostgresQuery(unsafeSQL: """
            SELECT key, value FROM \(name) WHERE \(condition)
            ORDER BY shard \(direction), key \(direction) LIMIT $\(binds.count)
            """, binds: binds)
    }

    func deleteRange(_ range: ShardedRange) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4)
        let condition = Self.condition(range, &binds)
        return PostgresQuery(unsafeSQL: "DELETE FROM \(name) WHERE \(condition)", binds: binds)
    }

    /// Upserts; the keys must be distinct (one row cannot be updated twice in one statement).
    func put(_ entries: [StoreEntry]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 3)
        let upsert = "ON CONFLICT (shard, key) DO UPDATE SET value = EXCLUDED.value"
        if entries.count == 1, let entry = entries.first {
            binds.append(ByteBuffer(bytes: Shard.of(entry.key)))
            binds.append(ByteBuffer(bytes: entry.key))
            binds.append(ByteBuffer(bytes: entry.value))
            return PostgresQuery(unsafeSQL: "INSERT INTO \(name) (shard, key, value) VALUES ($1, $2, $3) \(upsert)", binds: binds)
        }
        binds.append(entries.map { ByteBuffer(bytes: Shard.of($0.key)) })
        binds.append(entries.map { ByteBuffer(bytes: $0.key) })
        binds.append(entries.map { ByteBuffer(bytes: $0.value) })
        return PostgresQuery(unsafeSQL: """
            INSERT INTO \(name) (shard, key, value)
            SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) \(upsert)
            """, binds: binds)
    }

    func delete(_ keys: [[UInt8]]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 2)
        if keys.count == 1, let key = keys.first {
            binds.append(ByteBuffer(bytes: Shard.of(key)))
            binds.append(ByteBuffer(bytes: key))
            return PostgresQuery(unsafeSQL: "DELETE FROM \(name) WHERE shard = $1 AND key = $2", binds: binds)
        }
        binds.append(keys.map { ByteBuffer(bytes: Shard.of($0)) })
        binds.append(keys.map { ByteBuffer(bytes: $0) })
        return PostgresQuery(unsafeSQL: """
            DELETE FROM \(name) WHERE (shard, key) IN (SELECT * FROM unnest($1::bytea[], $2::bytea[]))
            """, binds: binds)
    }

    /// The WHERE clause of a range: the shard first, so that it is one range of the primary key.
    private static func condition(_ range: ShardedRange, _ binds: inout PostgresBindings) -> String {
        var clauses: [String] = []
        switch range.shards {
        case .exactly(let shard):
            binds.append(ByteBuffer(bytes: shard))
            clauses.append("shard = $\(binds.count)")
        case .between(let lower, let upper):
            binds.append(ByteBuffer(bytes: lower))
            clauses.append("shard >= $\(binds.count)")
            binds.append(ByteBuffer(bytes: upper))
            clauses.append("shard <= $\(binds.count)")
        }
        if !range.lower.isEmpty {
            binds.append(ByteBuffer(bytes: range.lower))
            clauses.append("key >= $\(binds.count)")
        }
        if let upper = range.upper {
            binds.append(ByteBuffer(bytes: upper))
            clauses.append("key < $\(binds.count)")
        }
        return clauses.joined(separator: " AND ")
    }

    /// A whole batch as one statement, when it can be: data-modifying CTEs, one per family and
    /// kind, each with its rows as arrays; PostgreSQL runs the statement atomically on its own, so
    /// no BEGIN and COMMIT round trips (a deposit: one round trip instead of about nine). Only
    /// for batches that touch each key once and delete no range: the CTEs see one snapshot, so
    /// a later operation on a key could not see an earlier one. `check` (the writer epoch's
    /// function, `$1` and `$2` its arguments) is called by the statement itself, so that a fenced
    /// writer's statement fails as a whole. Nil when the batch needs the step-by-step form.
    static func oneStatement(
        for operations: [StoreOperation], tables: [StoreFamily: FamilyTable], check: WriterClaim.Check?
    ) -> PostgresQuery? {
        var puts: [StoreFamily: [StoreEntry]] = [:]
        var deletes: [StoreFamily: [[UInt8]]] = [:]
        var seen: [StoreFamily: Set<[UInt8]>] = [:]
        for operation in operations {
            switch operation {
            case .put(let family, let key, let value):
                guard seen[family, default: []].insert(key).inserted else { return nil }
                puts[family, default: []].append(StoreEntry(key: key, value: value))
            case .delete(let family, let key):
                guard seen[family, default: []].insert(key).inserted else { return nil }
                deletes[family, default: []].append(key)
            case .deleteRange:
                return nil
            }
        }
        guard !puts.isEmpty || !deletes.isEmpty else { return nil }
        var binds = PostgresBindings(capacity: 2 + 3 * puts.count + 2 * deletes.count)
        var parts: [String] = []
        if let check {
            binds.append(check.epoch)
            binds.append(check.lockKey)
            parts.append("w AS (SELECT \(check.function)($1, $2) AS ok)")
        }
        for (index, (family, entries)) in puts.sorted(by: { $0.key.rawValue < $1.key.rawValue }).enumerated() {
            binds.append(entries.map { ByteBuffer(bytes: Shard.of($0.key)) })
            binds.append(entries.map { ByteBuffer(bytes: $0.key) })
            binds.append(entries.map { ByteBuffer(bytes: $0.value) })
            let last = binds.count
            parts.append("""
                p\(index) AS (INSERT INTO \(tables[family]!.name) (shard, key, value) \
                SELECT * FROM unnest($\(last - 2)::bytea[], $\(last - 1)::bytea[], $\(last)::bytea[]) \
                ON CONFLICT (shard, key) DO UPDATE SET value = EXCLUDED.value)
                """)
        }
        for (index, (family, keys)) in deletes.sorted(by: { $0.key.rawValue < $1.key.rawValue }).enumerated() {
            binds.append(keys.map { ByteBuffer(bytes: Shard.of($0)) })
            binds.append(keys.map { ByteBuffer(bytes: $0) })
            let last = binds.count
            parts.append("""
                d\(index) AS (DELETE FROM \(tables[family]!.name) \
                WHERE (shard, key) IN (SELECT * FROM unnest($\(last - 1)::bytea[], $\(last)::bytea[])))
                """)
        }
        // A SELECT CTE runs only when referenced: the result names the check.
        let result = check == nil ? "SELECT 1" : "SELECT ok FROM w"
        return PostgresQuery(unsafeSQL: "WITH " + parts.joined(separator: ", ") + " " + result, binds: binds)
    }
}
