import DossierStore
import Logging
import NIOCore
import PostgresNIO

/// The store's families as tables on PostgreSQL (decision 0009), for deployments that want the
/// database's replication, failover and backups instead of the embedded RocksDB.
///
/// Durability is the server's: `.durable` returns once COMMIT returns, which means what the
/// server's `synchronous_commit` says — `on` (the default) flushes the local WAL and, with
/// `synchronous_standby_names` set, waits for a standby; `remote_apply` also waits until the
/// standby shows it. `.visible` sets `synchronous_commit = off` for its own transaction only:
/// other sessions see it at once, a crash may lose it. `check()` reports what the server has.
///
/// Writes are never retried here: when a connection is lost around COMMIT nobody knows whether
/// it committed, so the caller gets StoreUnavailableError and decides. Reads retry once on a
/// fresh connection, which is what lets them ride over a failover.
public final class PostgresEngine: StoreEngine {
    public let name = "postgres"
    public let settings: PostgresSettings

    private let pool: ConnectionPool
    /// The schema's writer lock and epoch (`exclusive`), for as long as the engine.
    private let writer: WriterClaim?
    private let tables: [StoreFamily: FamilyTable]
    private let logger: Logger

    /// Rows fetched by a scan's first query: most scans stop early (a limit of 1, the newest
    /// entry), so it stays small; later pages are larger.
    static let firstPageSize = 16
    static let pageSize = 128

    /// Connects and checks that the tables are at this code's version.
    ///
    /// - Parameters:
    ///   - migrate: apply missing migrations first (as `dossierd migrate` does); otherwise a
    ///     database without the tables, or at an older version, is refused.
    ///   - exclusive: take the schema's writer lock and epoch (WriterClaim: the lock held until
    ///     `close()` and taken again when its session is lost, the epoch checked by every
    ///     write), and refuse to open when another engine holds the lock: two servers writing
    ///     one schema, each with its own record locks, would fork a record's hash chain.
    ///   - logger: for postgres-nio; never below `.info`, where it would log statements.
    public init(
        settings: PostgresSettings, migrate: Bool = false, exclusive: Bool = false,
        logger: Logger = Logger(label: "dossier.postgres")
    ) throws {
        let logger = Self.quiet(logger)
        self.settings = settings
        self.logger = logger
        let connector = try PrimaryConnector(settings: settings, logger: logger)
        pool = ConnectionPool(connector: connector, size: settings.poolSize)
        tables = Dictionary(uniqueKeysWithValues: StoreFamily.allCases.map { ($0, FamilyTable(schema: settings.schema, family: $0)) })
        do {
            let schema = settings.schema
            try pool.with("the schema check") { connection in
                if migrate {
                    _ = try await Migrations.apply(on: connection, schema: schema, logger: logger)
                    return
                }
                guard try await Migrations.isInstalled(on: connection, schema: schema, logger: logger) else {
                    throw PostgresEngineError("PostgreSQL has no Dossier tables in schema \(schema): run dossierd migrate")
                }
                let version = try await Migrations.version(on: connection, schema: schema, logger: logger)
                try Migrations.refuseNewer(version)
                guard version == Migrations.latest else {
                    throw PostgresEngineError("the PostgreSQL schema \(schema) is at migration \(version), this dossierd needs \(Migrations.latest): run dossierd migrate")
                }
            }
            writer = exclusive ? try WriterClaim(connector: connector, schema: schema, logger: logger) : nil
        } catch {
            pool.close()
            throw error
        }
    }

    /// Brings the schema to this code's version (`dossierd migrate`); returns the versions
    /// before and after. Safe to run from several servers at once, and again.
    @discardableResult
    public static func migrate(settings: PostgresSettings, logger: Logger = Logger(label: "dossier.postgres")) throws -> (from: Int, to: Int) {
        let logger = quiet(logger)
        let pool = ConnectionPool(connector: try PrimaryConnector(settings: settings, logger: logger), size: 1)
        defer { pool.close() }
        let schema = settings.schema
        let found = try pool.with("the migration", bounded: false) { connection in
            try await Migrations.apply(on: connection, schema: schema, logger: logger)
        }
        return (found, Migrations.latest)
    }

    /// The newest migration this code knows.
    public static var schemaVersion: Int { Migrations.latest }

    public func get(_ key: [UInt8], in family: StoreFamily) throws -> [UInt8]? {
        let query = table(family).get(key)
        let logger = self.logger
        return try retryingOnce {
            try pool.with("a read") { connection in
                let rows = try await connection.query(query, logger: logger).collect()
                guard let row = rows.first else { return nil }
                return Array(try row.decode(ByteBuffer.self).readableBytesView)
            }
        }
    }

    /// Fetches page by page (keyset pagination on the key), each page on whichever connection
    /// is free: memory stays bounded, `body` may stop early, and `body` may itself call the
    /// engine without holding a connection hostage.
    public func scan(
        _ family: StoreFamily, from lower: [UInt8]?, to upper: [UInt8]?, reverse: Bool,
        _ body: (StoreEntry) throws -> Bool
    ) throws {
        let table = table(family)
        let logger = self.logger
        var pieces = ShardedRange.pieces(from: lower, to: upper)
        if reverse { pieces.reverse() }
        var limit = Self.firstPageSize
        for var piece in pieces {
            while true {
                let query = table.page(of: piece, reverse: reverse, limit: limit)
                let entries = try retryingOnce {
                    try pool.with("a scan") { connection in
                        try await connection.query(query, logger: logger).collect().map { row in
                            let (key, value) = try row.decode((ByteBuffer, ByteBuffer).self)
                            return StoreEntry(key: Array(key.readableBytesView), value: Array(value.readableBytesView))
                        }
                    }
                }
                for entry in entries {
                    guard try body(entry) else { return }
                }
                guard entries.count == limit, let last = entries.last?.key else { break }
                // Continue just past the last key seen.
                if reverse {
                    piece.upper = last
                } else {
                    piece.lower = last + [0]
                }
                limit = Self.pageSize
            }
        }
    }

    public func write(_ batch: StoreBatch, durability: StoreDurability) throws {
        let logger = self.logger
        let writer = self.writer
        if let fenced = writer?.fencedReason { throw StoreUnavailableError(fenced) }
        let check = writer?.check
        do {
            // Most batches: one statement, atomic on its own (no BEGIN/COMMIT round trips).
            if durability == .durable, let statement = FamilyTable.oneStatement(for: batch.operations, tables: tables, check: check) {
                try pool.with("a write") { connection in
                    // Its one row read to the end: an error (a constraint, the writer check)
                    // comes with the rows, and would be lost with them.
                    _ = try await connection.query(statement, logger: logger).collect()
                }
                return
            }
            let statements = Self.statements(for: batch.operations, tables: tables)
            guard !statements.isEmpty else { return }
            try pool.with("a write") { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    if let check {
                        var binds = PostgresBindings()
                        binds.append(check.epoch)
                        binds.append(check.lockKey)
                        _ = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(check.function)($1, $2)", binds: binds), logger: logger)
                            .collect()
                    }
                    if durability == .visible {
                        try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
                    }
                    for statement in statements {
                        try await connection.query(statement, logger: logger)
                    }
                } catch {
                    do {
                        try await connection.query("ROLLBACK", logger: logger)
                    } catch {
                        // A session in an unknown state must not serve another call.
                        try? await connection.close()
                    }
                    throw error
                }
                // Not inside the do: a COMMIT that fails leaves nothing to roll back.
                try await connection.query("COMMIT", logger: logger)
            }
        } catch let refused as PostgresEngineError where refused.sqlState == WriterClaim.fencedState {
            throw StoreUnavailableError(writer?.noteFenced(refused.description) ?? refused.description)
        }
    }

    /// For `dossierd config check`: where the engine writes and what the server promises.
    public func check() throws -> String {
        let schema = settings.schema
        let logger = self.logger
        let redacted = settings.redacted
        return try pool.with("the check") { connection in
            let rows = try await connection.query("""
                SELECT current_setting('server_version'), pg_is_in_recovery(),
                       current_setting('synchronous_commit'), current_setting('synchronous_standby_names'),
                       host(inet_server_addr()), inet_server_port(),
                       (SELECT CASE WHEN ssl THEN version || ' ' || cipher ELSE 'off' END
                          FROM pg_stat_ssl WHERE pid = pg_backend_pid())
                """, logger: logger).collect()
            guard let row = rows.first else { throw PostgresEngineError("PostgreSQL answered the check with no row") }
            let (version, inRecovery, synchronousCommit, standbys, address, port, tls) =
                try row.decode((String, Bool, String, String, String?, Int?, String?).self)
            let migration = try await Migrations.version(on: connection, schema: schema, logger: logger)
            let server = address.map { "\($0):\(port.map(String.init) ?? "?")" } ?? "a unix socket"
            return """
                postgres: \(redacted)
                server: PostgreSQL \(version) at \(server), \(inRecovery ? "a standby" : "the primary")
                tls: \(tls ?? "unknown")
                synchronous_commit: \(synchronousCommit)
                synchronous_standby_names: \(standbys.isEmpty ? "(none: commits wait for no standby)" : standbys)
                schema \(schema): migration \(migration) (this dossierd: \(Migrations.latest))
                """
        }
    }

    public func close() {
        pool.close()
        writer?.close()  // releases the writer lock
    }

    /// postgres-nio logs statements below `.info`; statements carry keys and values.
    private static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        if logger.logLevel < .info { logger.logLevel = .info }
        return logger
    }

    private func table(_ family: StoreFamily) -> FamilyTable {
        tables[family]!
    }

    /// A read that lost its connection tries once more: the pool then connects afresh, to
    /// whichever host is the primary now.
    private func retryingOnce<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch is StoreUnavailableError {
            return try read()
        }
    }

    /// The batch as statements, in order: consecutive puts (deletes) to one family become one
    /// statement, split where a key repeats since one statement cannot change a row twice.
    static func statements(for operations: [StoreOperation], tables: [StoreFamily: FamilyTable]) -> [PostgresQuery] {
        var statements: [PostgresQuery] = []
        var puts: (family: StoreFamily, entries: [StoreEntry], keys: Set<[UInt8]>)?
        var deletes: (family: StoreFamily, keys: [[UInt8]], seen: Set<[UInt8]>)?
        func flush() {
            if let run = puts { statements.append(tables[run.family]!.put(run.entries)) }
            if let run = deletes { statements.append(tables[run.family]!.delete(run.keys)) }
            puts = nil
            deletes = nil
        }
        for operation in operations {
            switch operation {
            case .put(let family, let key, let value):
                if let run = puts, run.family == family, !run.keys.contains(key) {
                    puts!.entries.append(StoreEntry(key: key, value: value))
                    puts!.keys.insert(key)
                } else {
                    flush()
                    puts = (family, [StoreEntry(key: key, value: value)], [key])
                }
            case .delete(let family, let key):
                if let run = deletes, run.family == family {
                    if !run.seen.contains(key) {
                        deletes!.keys.append(key)
                        deletes!.seen.insert(key)
                    }
                } else {
                    flush()
                    deletes = (family, [key], [key])
                }
            case .deleteRange(let family, let from, let to):
                flush()
                for piece in ShardedRange.pieces(from: from, to: to) {
                    statements.append(tables[family]!.deleteRange(piece))
                }
            }
        }
        flush()
        return statements
    }
}

extension PostgresEngine {
    /// The server process of the connection the next call gets (with a pool of one): for tests
    /// that stop it.
    func serverProcessID() throws -> Int32 {
        let logger = self.logger
        return try pool.with("a statement") { connection in
            let rows = try await connection.query("SELECT pg_backend_pid()", logger: logger).collect()
            return try rows.first!.decode(Int32.self)
        }
    }

    /// Runs a statement that takes no binds and returns nothing: for tests and maintenance.
    func execute(_ sql: String) throws {
        let logger = self.logger
        try pool.with("a statement") { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            return ()
        }
    }

    /// Runs a query that takes no binds and returns one integer: for tests.
    func integer(_ sql: String) throws -> Int {
        let logger = self.logger
        return try pool.with("a statement") { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
            guard let row = rows.first else { throw PostgresEngineError("no row") }
            return try row.decode(Int.self)
        }
    }
}
