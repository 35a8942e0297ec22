import DossierStore
import Logging
import PostgresNIO

/// The tables' versions. Each migration is applied once, in order, in one transaction with the
/// bookkeeping row, so a database is always at exactly one version; a server that finds a
/// version newer than it knows refuses to start instead of writing rows an older layout would
/// misread.
enum Migrations {
    /// The newest version this code knows.
    static let latest = 2

    /// Statement lists, version 1 first (`latest` of them). Append; never edit one that shipped.
    static func all(schema: String) -> [[String]] {
        [version1(schema: schema), version2(schema: schema)]
    }

    /// The writer epoch (WriterClaim): one row, raised by each dossierd that takes the schema's
    /// writer lock, and the check every write makes of it (in the write's own statement or
    /// transaction): under a shared transaction advisory lock on `lock_key` (a newer writer
    /// raises the epoch holding that lock exclusively, so it waits for the writes that read the
    /// old epoch, and later ones see the new), SQLSTATE DW001 when the epoch is not the caller's.
    /// An advisory lock, not `FOR SHARE` on the row: every write locking one row would write
    /// that row's lock into the table (and the WAL) each time.
    private static func version2(schema: String) -> [String] {
        [
            """
            CREATE TABLE "\(schema)".dossier_writer (
                id int PRIMARY KEY CHECK (id = 1),
                epoch bigint NOT NULL,
                taken_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE FUNCTION "\(schema)".dossier_writer_check(expected bigint, lock_key bigint) RETURNS boolean
            LANGUAGE plpgsql AS $check$
            DECLARE
                current_epoch bigint;
            BEGIN
                PERFORM pg_advisory_xact_lock_shared(lock_key);
                SELECT epoch INTO current_epoch FROM "\(schema)".dossier_writer WHERE id = 1;
                IF current_epoch IS DISTINCT FROM expected THEN
                    RAISE EXCEPTION 'another dossierd took over the writes of this schema (writer epoch %, this server''s %)',
                        current_epoch, expected USING ERRCODE = 'DW001';
                END IF;
                RETURN true;
            END
            $check$
            """,
        ]
    }

    /// One table per family. `shard` is the record's handle for a record's rows, empty for
    /// global ones (see `Shard`); the CHECKs keep it consistent with the key, so a distributed
    /// PostgreSQL may shard by it without ever splitting a record. `substring` rather than
    /// `get_byte`: it does not fail on an empty key.
    private static func version1(schema: String) -> [String] {
        var statements: [String] = []
        for family in StoreFamily.allCases {
            let table = "\"\(schema)\".\(family.rawValue)"
            var checks = [
                """
                CONSTRAINT \(family.rawValue)_shard CHECK (CASE
                    WHEN substring(key FROM 1 FOR 1) = '\\x01'::bytea
                    THEN length(key) >= 16 AND shard = substring(key FROM 1 FOR 16)
                    ELSE shard = '\\x'::bytea END)
                """
            ]
            if family == .records {
                // The records family holds one row per record, keyed by its handle.
                checks.append("CONSTRAINT records_key_is_handle CHECK (length(key) = 16)")
            }
            // Append-mostly families fill their pages; the others leave room for HOT updates.
            let fillfactor = (family == .contents || family == .accessLog) ? 100 : 90
            statements.append("""
                CREATE TABLE \(table) (
                    shard bytea NOT NULL,
                    key bytea NOT NULL,
                    value bytea NOT NULL,
                    PRIMARY KEY (shard, key),
                    \(checks.joined(separator: ",\n"))
                ) WITH (fillfactor = \(fillfactor))
                """)
            // Values are sealed (random bytes): compressing them only costs CPU.
            statements.append("ALTER TABLE \(table) ALTER COLUMN value SET STORAGE EXTERNAL")
        }
        return statements
    }

    /// Brings `schema` to `latest` under a transaction-scoped advisory lock, so that several
    /// servers starting at once apply each migration once. Returns the version found before.
    static func apply(on connection: PostgresConnection, schema: String, logger: Logger) async throws -> Int {
        try await connection.query("BEGIN", logger: logger)
        do {
            // A migration may rewrite large tables, and waits for another server's migration.
            try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
            var binds = PostgresBindings()
            binds.append(lockKey(schema: schema))
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock($1)", binds: binds), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS "\(schema)".dossier_migrations (
                    version int PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """), logger: logger)
            let found = try await version(on: connection, schema: schema, logger: logger)
            try refuseNewer(found)
            let migrations = all(schema: schema)
            for version in stride(from: found + 1, through: latest, by: 1) {
                for statement in migrations[version - 1] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                var binds = PostgresBindings()
                binds.append(version)
                try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \"\(schema)\".dossier_migrations (version) VALUES ($1::int)", binds: binds), logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
            return found
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The version applied (0: none), or PostgresEngineError "run dossierd migrate" when the
    /// schema has no bookkeeping table.
    static func version(on connection: PostgresConnection, schema: String, logger: Logger) async throws -> Int {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT coalesce(max(version), 0)::int8 FROM "\(schema)".dossier_migrations
            """), logger: logger).collect()
        return try rows.first?.decode(Int.self) ?? 0
    }

    /// Whether the bookkeeping table exists (asked first, so that a missing schema is a clear
    /// message rather than an aborted transaction).
    static func isInstalled(on connection: PostgresConnection, schema: String, logger: Logger) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append("\"\(schema)\".dossier_migrations")
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL", binds: binds), logger: logger).collect()
        return try rows.first?.decode(Bool.self) ?? false
    }

    static func refuseNewer(_ found: Int) throws {
        guard found <= latest else {
            throw PostgresEngineError("the PostgreSQL schema is at migration \(found), newer than this dossierd knows (\(latest)): run a newer dossierd")
        }
    }

    /// The advisory lock's key: FNV-1a of the schema name, so that deployments in other
    /// schemas of the same database do not wait for each other.
    static func lockKey(schema: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "dossier-migrate:\(schema)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
