import DossierStore
import Foundation
import Synchronization
import Testing

@testable import DossierPostgres

/// The URL of a server to test against (scripts/postgres-cluster.sh prints one); without it
/// the tests that need a server are skipped.
let postgresURL = ProcessInfo.processInfo.environment["DOSSIER_TEST_POSTGRES_URL"]

/// Each test in its own schema, dropped afterwards, so that runs never see each other's rows.
func withEngine(poolSize: Int = 4, _ body: (PostgresEngine, PostgresSettings) throws -> Void) throws {
    let schema = "test_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    let settings = try PostgresSettings(url: postgresURL!, poolSize: poolSize, schema: schema)
    let engine = try PostgresEngine(settings: settings, migrate: true)
    defer {
        try? engine.execute("DROP SCHEMA \"\(schema)\" CASCADE")
        engine.close()
    }
    try body(engine, settings)
}

func handle(_ byte: UInt8) -> [UInt8] {
    [0x01] + [UInt8](repeating: byte, count: 15)
}

func keys(_ engine: PostgresEngine, _ family: StoreFamily, from lower: [UInt8]? = nil, to upper: [UInt8]? = nil, reverse: Bool = false) throws -> [[UInt8]] {
    var found: [[UInt8]] = []
    try engine.scan(family, from: lower, to: upper, reverse: reverse) { entry in
        found.append(entry.key)
        return true
    }
    return found
}

@Suite(.serialized, .enabled(if: postgresURL != nil, "set DOSSIER_TEST_POSTGRES_URL (scripts/postgres-cluster.sh)"))
struct PostgresEngineTests {
    @Test func putGetDelete() throws {
        try withEngine { engine, _ in
            let key = handle(7) + [0x00, 0x05]
            #expect(try engine.get(key, in: .documents) == nil)
            try engine.put(key, [1, 2, 3], in: .documents)
            #expect(try engine.get(key, in: .documents) == [1, 2, 3])
            // Overwrite, and an empty value.
            try engine.put(key, [], in: .documents)
            #expect(try engine.get(key, in: .documents) == [])
            // Families are separate tables.
            #expect(try engine.get(key, in: .contents) == nil)
            let batch = StoreBatch()
            batch.delete(key, in: .documents)
            try engine.write(batch, durability: .durable)
            #expect(try engine.get(key, in: .documents) == nil)
            // Global keys and a record's own row.
            try engine.put(Array("~Uupload".utf8), [9], in: .meta)
            try engine.put(handle(7), [8], in: .records)
            #expect(try engine.get(Array("~Uupload".utf8), in: .meta) == [9])
            #expect(try engine.get(handle(7), in: .records) == [8])
        }
    }

    /// Against a model: random keys of records and global keys (with 0x00 and 0xFF bytes, the
    /// empty key, keys around 0x01 and 0x02), random bounds, both directions.
    @Test func scansFollowMemcmpOrderInBothDirections() throws {
        try withEngine { engine, _ in
            var model: [[UInt8]: [UInt8]] = [:]
            let handles = [handle(0x00), handle(0x7F), handle(0xFF), [0x01] + [UInt8](repeating: 0xFF, count: 14) + [0xFE]]
            var generator = SystemRandomNumberGenerator()
            func randomTail() -> [UInt8] {
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in [0x00, 0x01, 0x7F, 0x80, 0xFF].randomElement(using: &generator)! }
            }
            let batch = StoreBatch()
            for _ in 0..<300 {
                let key: [UInt8]
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: key = handles.randomElement()! + randomTail()
                case 1: key = [0x00] + randomTail()
                case 2: key = [0x02] + randomTail()
                default: key = [[0x7E], [0xFF], [0x73]].randomElement()! + randomTail()
                }
                let value = [UInt8.random(in: 0...255)]
                model[key] = value
                batch.put(key, value, in: .grants)
            }
            model[[]] = [0]
            batch.put([], [0], in: .grants)
            try engine.write(batch, durability: .durable)

            let sorted = model.keys.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(try keys(engine, .grants) == sorted)
            #expect(try keys(engine, .grants, reverse: true) == sorted.reversed())
            let bounds: [[UInt8]?] = [nil, [], [0x01], [0x02], [0x01, 0x00], [0x7E], [0xFF, 0xFF]]
                + handles.map { $0 } + handles.map { StoreKeyRange.upperBound(forPrefix: $0) }
                + sorted.map { $0 }
            for _ in 0..<150 {
                let lower = bounds.randomElement()!
                var upper = bounds.randomElement()!
                if Bool.random(), let key = sorted.randomElement() { upper = key + [0x00] }
                let expected = sorted.filter { key in
                    (lower.map { !key.lexicographicallyPrecedes($0) } ?? true) && (upper.map { key.lexicographicallyPrecedes($0) } ?? true)
                }
                #expect(try keys(engine, .grants, from: lower, to: upper) == expected, "forward \(lower ?? []) ..< \(upper ?? [])")
                #expect(try keys(engine, .grants, from: lower, to: upper, reverse: true) == expected.reversed(), "reverse")
            }
            // Values come along.
            try engine.scan(.grants, from: nil, to: nil, reverse: false) { entry in
                #expect(model[entry.key] == entry.value)
                return true
            }
        }
    }

    @Test func scansPageAndStopEarly() throws {
        try withEngine { engine, _ in
            let record = handle(0x42)
            let batch = StoreBatch()
            for index in 0..<700 {
                batch.put(record + [0x00, UInt8(index >> 8), UInt8(index & 0xFF)], [UInt8(index & 0xFF)], in: .accessLog)
            }
            try engine.write(batch, durability: .durable)
            let all = try keys(engine, .accessLog, from: record, to: StoreKeyRange.upperBound(forPrefix: record))
            #expect(all.count == 700)
            #expect(all == all.sorted { $0.lexicographicallyPrecedes($1) })
            #expect(try keys(engine, .accessLog, from: record, to: StoreKeyRange.upperBound(forPrefix: record), reverse: true) == all.reversed())
            // Stop in the middle of the second page.
            var seen = 0
            try engine.scan(prefix: record, in: .accessLog, reverse: true) { _ in
                seen += 1
                return seen < 150
            }
            #expect(seen == 150)
            #expect(try engine.entries(withPrefix: record, in: .accessLog, limit: 1).count == 1)
            // "Does the family hold anything": unbounded, limit 1.
            #expect(try engine.entries(withPrefix: [], in: .accessLog, limit: 1).first?.key == all.first)
            #expect(try engine.entries(withPrefix: [], in: .records, limit: 1).isEmpty)
        }
    }

    @Test func deleteRangeWithinARecord() throws {
        try withEngine { engine, _ in
            let record = handle(0x10)
            let other = handle(0x11)
            let batch = StoreBatch()
            for index in UInt8(0)..<20 {
                batch.put(record + [0x00, index], [index], in: .notifications)
                batch.put(record + [0x01, index], [index], in: .notifications)
                batch.put(other + [0x01, index], [index], in: .notifications)
            }
            batch.put(Array("~D".utf8) + record, [1], in: .notifications)
            try engine.write(batch, durability: .durable)
            let delete = StoreBatch()
            delete.deleteRange(from: record + [0x01], to: record + [0x02], in: .notifications)
            try engine.write(delete, durability: .durable)
            #expect(try keys(engine, .notifications, from: record, to: StoreKeyRange.upperBound(forPrefix: record)).count == 20)
            #expect(try keys(engine, .notifications, from: record + [0x01], to: record + [0x02]).isEmpty)
            #expect(try keys(engine, .notifications, from: other, to: StoreKeyRange.upperBound(forPrefix: other)).count == 20)
            #expect(try engine.get(Array("~D".utf8) + record, in: .notifications) == [1])
            // A range over every record, and one over everything.
            let all = StoreBatch()
            all.deleteRange(from: [0x01], to: [0x02], in: .notifications)
            try engine.write(all, durability: .durable)
            #expect(try keys(engine, .notifications) == [Array("~D".utf8) + record])
        }
    }

    /// The CHECK constraints refuse keys that would put a record's row outside its shard, and
    /// the batch they end leaves nothing behind.
    @Test func aBatchThatFailsMidwayLeavesNothing() throws {
        try withEngine { engine, _ in
            for (family, badKey) in [(StoreFamily.documents, [UInt8]([0x01, 0x02])), (.records, handle(3) + [0]), (.records, Array("~x".utf8))] {
                let batch = StoreBatch()
                batch.put(handle(3) + [0x00], [1], in: .documents)
                batch.put(Array("~Ufirst".utf8), [1], in: .meta)
                batch.put(badKey, [2], in: family)
                batch.put(Array("~Ulast".utf8), [1], in: .meta)
                #expect(throws: PostgresEngineError.self) { try engine.write(batch, durability: .durable) }
                #expect(try engine.get(handle(3) + [0x00], in: .documents) == nil)
                #expect(try engine.get(Array("~Ufirst".utf8), in: .meta) == nil)
                #expect(try engine.get(Array("~Ulast".utf8), in: .meta) == nil)
            }
            // The connection is usable afterwards.
            try engine.put(Array("~Uafter".utf8), [1], in: .meta)
            #expect(try engine.get(Array("~Uafter".utf8), in: .meta) == [1])
        }
    }

    /// Puts, deletes and puts again of one key in one batch apply in order.
    @Test func aBatchAppliesInOrder() throws {
        try withEngine { engine, _ in
            let key = handle(5) + [0x01]
            let batch = StoreBatch()
            batch.put(key, [1], in: .contents)
            batch.put(key, [2], in: .contents)
            batch.delete(key, in: .contents)
            batch.delete(key, in: .contents)
            batch.put(key, [3], in: .contents)
            batch.put(handle(5) + [0x02], [4], in: .contents)
            batch.deleteRange(from: handle(5) + [0x02], to: handle(5) + [0x03], in: .contents)
            try engine.write(batch, durability: .visible)
            #expect(try engine.get(key, in: .contents) == [3])
            #expect(try engine.get(handle(5) + [0x02], in: .contents) == nil)
            try engine.write(StoreBatch(), durability: .durable)
        }
    }

    @Test func concurrentWritersFromEightThreads() throws {
        try withEngine(poolSize: 4) { (engine: PostgresEngine, _: PostgresSettings) throws in
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 8) { thread in
                do {
                    for index in 0..<40 {
                        let record = [0x01, UInt8(thread)] + [UInt8](repeating: UInt8(index), count: 14)
                        let batch = StoreBatch()
                        batch.put(record, [1], in: .records)
                        batch.put(record + [0x00, 0x01], [2], in: .documents)
                        batch.put(record + [0x00, 0x02], [3], in: .documents)
                        batch.put(Array("~D".utf8) + record, [4], in: .meta)
                        try engine.write(batch, durability: index % 2 == 0 ? .durable : .visible)
                        guard try engine.get(record + [0x00, 0x02], in: .documents) == [3] else {
                            throw PostgresEngineError("a write was not visible to the next read")
                        }
                    }
                } catch {
                    failures.add(String(describing: error))
                }
            }
            #expect(failures.all.isEmpty)
            #expect(try keys(engine, .records).count == 320)
            #expect(try keys(engine, .documents).count == 640)
            #expect(try keys(engine, .meta).count == 320)
        }
    }

    @Test func migrationsAreIdempotentAndChecked() throws {
        try withEngine { engine, settings in
            let again = try PostgresEngine.migrate(settings: settings)
            #expect(again.from == Migrations.latest && again.to == Migrations.latest)
            let second = try PostgresEngine(settings: settings)
            second.close()
            let report = try engine.check()
            #expect(report.contains("the primary"))
            #expect(report.contains("migration \(Migrations.latest) (this dossierd: \(Migrations.latest))"))
            #expect(report.contains("synchronous_commit: on"))
            #expect(!report.contains("password"))
        }
    }

    /// What migration 1 made: sealed values stored uncompressed, and a shard column that SQL
    /// written by hand cannot get wrong either.
    @Test func theTablesKeepTheShardConsistent() throws {
        try withEngine { engine, settings in
            let schema = "\"\(settings.schema)\""
            try engine.execute("""
                DO $$ BEGIN
                  IF (SELECT count(*) FROM pg_attribute WHERE attname = 'value' AND attstorage = 'e'
                      AND attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = '\(schema)'::regnamespace)) <> 7
                  THEN RAISE EXCEPTION 'values are not STORAGE EXTERNAL'; END IF;
                END $$
                """)
            let record = "'\\x01" + String(repeating: "ab", count: 15) + "'::bytea"
            // Consistent rows go in.
            try engine.execute("INSERT INTO \(schema).documents VALUES (\(record), \(record) || '\\x00'::bytea, '\\x')")
            try engine.execute("INSERT INTO \(schema).documents VALUES ('\\x', '\\x', '\\x')")
            // A record's row in the global shard, a global row in a record's, a short record key,
            // a records row that is not a handle.
            for row in [
                "('\\x', \(record) || '\\x01'::bytea, '\\x')",
                "(\(record), '\\x7e01'::bytea, '\\x')",
                "('\\x', '\\x0102'::bytea, '\\x')",
                "('\\x0102'::bytea, '\\x0102'::bytea, '\\x')",
            ] {
                #expect(throws: PostgresEngineError.self, "\(row)") { try engine.execute("INSERT INTO \(schema).documents VALUES \(row)") }
            }
            #expect(throws: PostgresEngineError.self) { try engine.execute("INSERT INTO \(schema).records VALUES (\(record), \(record) || '\\x00'::bytea, '\\x')") }
            #expect(throws: PostgresEngineError.self) { try engine.execute("INSERT INTO \(schema).records VALUES ('\\x', '\\x7e', '\\x')") }
        }
    }

    @Test func aNewerSchemaIsRefused() throws {
        try withEngine { engine, settings in
            try engine.execute("INSERT INTO \"\(settings.schema)\".dossier_migrations (version) VALUES (99)")
            #expect {
                try PostgresEngine(settings: settings)
            } throws: { error in
                String(describing: error).contains("newer than this dossierd knows")
            }
            #expect {
                try PostgresEngine.migrate(settings: settings)
            } throws: { error in
                String(describing: error).contains("migration 99")
            }
        }
    }

    @Test func missingTablesAskForMigrate() throws {
        let settings = try PostgresSettings(url: postgresURL!, schema: "test_never_migrated")
        #expect {
            try PostgresEngine(settings: settings)
        } throws: { error in
            String(describing: error).contains("run dossierd migrate")
        }
    }

    /// Connections that the server ends (pg_terminate_backend sends 57P01, as a shutdown does)
    /// are dropped; reads retry on a fresh connection, a write may fail once, never silently.
    @Test func terminatedConnectionsAreReplaced() throws {
        try withEngine(poolSize: 2) { engine, settings in
            try engine.put(Array("~Ukey".utf8), [1], in: .meta)
            // Both connections of the pool in use once, then idle.
            DispatchQueue.concurrentPerform(iterations: 2) { _ in _ = try? engine.get(Array("~Ukey".utf8), in: .meta) }
            let killer = try PostgresEngine(settings: settings)
            defer { killer.close() }
            try killer.execute("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = 'dossierd' AND pid <> pg_backend_pid() AND datname = current_database()
                """)
            killer.close()
            Thread.sleep(forTimeInterval: 0.2)
            #expect(try engine.get(Array("~Ukey".utf8), in: .meta) == [1])
            do {
                try engine.put(Array("~Ukey".utf8), [2], in: .meta)
            } catch is StoreUnavailableError {
                try engine.put(Array("~Ukey".utf8), [2], in: .meta)
            }
            #expect(try engine.get(Array("~Ukey".utf8), in: .meta) == [2])
        }
    }

    /// Hosts are tried in order: one that refuses connections is passed over; when none
    /// answers, the engine is unavailable (retryable), with each host's reason.
    @Test func hostsAreTriedInOrder() throws {
        let base = try PostgresSettings(url: postgresURL!)
        let real = base.hosts[0]
        // Port 1 on loopback: nothing listens there.
        let url = postgresURL!.replacingOccurrences(of: "@\(real.name):\(real.port)/", with: "@127.0.0.1:1,\(real.name):\(real.port)/")
        #expect(url != postgresURL!)
        let schema = "test_hosts_" + String(UInt32.random(in: 0...UInt32.max))
        let engine = try PostgresEngine(settings: try PostgresSettings(url: url, schema: schema), migrate: true)
        defer {
            try? engine.execute("DROP SCHEMA \"\(schema)\" CASCADE")
            engine.close()
        }
        try engine.put(Array("~Uk".utf8), [1], in: .meta)
        #expect(try engine.get(Array("~Uk".utf8), in: .meta) == [1])

        let nowhere = try PostgresSettings(url: "postgres://u@127.0.0.1:1,127.0.0.1:2/db?sslmode=disable&connect_timeout=2")
        #expect {
            try PostgresEngine(settings: nowhere)
        } throws: { error in
            error is StoreUnavailableError && String(describing: error).contains("127.0.0.1:2")
        }
    }

    @Test func severalDeletesInOneStatement() throws {
        try withEngine { engine, _ in
            let batch = StoreBatch()
            for index in UInt8(0)..<5 { batch.put(handle(9) + [index], [index], in: .grants) }
            try engine.write(batch, durability: .durable)
            let delete = StoreBatch()
            delete.delete(handle(9) + [1], in: .grants)
            delete.delete(handle(9) + [3], in: .grants)
            delete.delete(handle(9) + [7], in: .grants)
            delete.delete(handle(9) + [1], in: .grants)
            try engine.write(delete, durability: .durable)
            #expect(try keys(engine, .grants) == [handle(9) + [0], handle(9) + [2], handle(9) + [4]])
            #expect(PostgresEngine.statements(for: delete.operations, tables: [.grants: FamilyTable(schema: "s", family: .grants)]).count == 1)
        }
    }

    /// Not a benchmark: shows that a deposit-sized batch takes a plausible time (not asserted).
    @Test func smoke() throws {
        try withEngine(poolSize: 8) { engine, _ in
            let start = ContinuousClock.now
            for index in 0..<200 {
                let record = [0x01] + [UInt8](repeating: UInt8(index & 0xFF), count: 14) + [UInt8(index >> 8)]
                let batch = StoreBatch()
                batch.put(record, [UInt8](repeating: 1, count: 200), in: .records)
                for part in UInt8(0)..<8 {
                    batch.put(record + [0x00, part], [UInt8](repeating: 2, count: 300), in: .documents)
                }
                batch.put(Array("~D".utf8) + record, [3], in: .meta)
                try engine.write(batch, durability: .durable)
            }
            let writes = ContinuousClock.now - start
            let readStart = ContinuousClock.now
            for index in 0..<200 {
                let record = [0x01] + [UInt8](repeating: UInt8(index & 0xFF), count: 14) + [UInt8(index >> 8)]
                _ = try engine.entries(withPrefix: record, in: .documents)
            }
            let reads = ContinuousClock.now - readStart
            print("postgres smoke: 200 deposits of 10 rows in \(writes), 200 record scans in \(reads)")
        }
    }
}

final class Failures: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ failure: String) { list.withLock { $0.append(failure) } }
    var all: [String] { list.withLock { $0 } }
}
