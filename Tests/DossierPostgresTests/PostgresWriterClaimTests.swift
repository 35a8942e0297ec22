import DossierStore
import Foundation
import Testing

@testable import DossierPostgres

/// One writer per schema (WriterClaim): a second server is refused at start; a server whose
/// lock session is lost takes the lock again; one that another server took over from is fenced,
/// its writes refused, never interleaved with the newer server's.
@Suite(.serialized, .enabled(if: postgresURL != nil, "set DOSSIER_TEST_POSTGRES_URL (scripts/postgres-cluster.sh)"))
struct PostgresWriterClaimTests {
    @Test func aSecondWriterIsRefusedAndATakeoverFencesTheFirst() throws {
        try withSchema { settings, admin in
            let first = try PostgresEngine(settings: settings, migrate: true, exclusive: true)
            defer { first.close() }
            try first.put(handle(1), [1], in: .records)
            #expect {
                _ = try PostgresEngine(settings: settings, exclusive: true)
            } throws: { error in
                "\(error)".contains("another dossierd is serving the PostgreSQL schema")
            }

            // The first server's lock session is cut (a network blip): a second server may start
            // before the first takes the lock again.
            var second: PostgresEngine?
            for _ in 0..<20 where second == nil {
                try endLockSession(of: settings, using: admin)
                second = try? PostgresEngine(settings: settings, exclusive: true)
            }
            let newer = try #require(second)
            defer { newer.close() }
            #expect {
                try first.put(handle(2), [2], in: .records)
            } throws: { error in
                error is StoreUnavailableError && "\(error)".contains("another dossierd took over the writes")
            }
            // Fenced for good: even a batch of several statements, and nothing of it lands.
            let batch = StoreBatch()
            batch.put(handle(3), [3], in: .records)
            batch.put(handle(3) + [0x00, 0x01], [3], in: .documents)
            #expect(throws: StoreUnavailableError.self) { try first.write(batch, durability: .durable) }
            #expect(try newer.get(handle(3), in: .records) == nil)
            // The newer server writes; the fenced one still reads.
            try newer.put(handle(4), [4], in: .records)
            #expect(try first.get(handle(4), in: .records) == [4])
            #expect(try first.get(handle(2), in: .records) == nil)
            // The fenced server never takes the lock again: the server that writes, restarted
            // after a few heartbeats, gets it.
            newer.close()
            Thread.sleep(forTimeInterval: 2 * WriterClaim.heartbeat + 0.5)
            let restarted = try PostgresEngine(settings: settings, exclusive: true)
            defer { restarted.close() }
            try restarted.put(handle(6), [6], in: .records)
        }
    }

    @Test func aLostLockSessionIsReplacedAndStillRefusesASecondWriter() throws {
        try withSchema { settings, admin in
            let engine = try PostgresEngine(settings: settings, migrate: true, exclusive: true)
            defer { engine.close() }
            #expect(try lockHolders(of: settings, using: admin) == 1)
            try endLockSession(of: settings, using: admin)
            // Within a few heartbeats the lock is held again, on a new session.
            var held = false
            for _ in 0..<40 where !held {
                Thread.sleep(forTimeInterval: 0.25)
                held = try lockHolders(of: settings, using: admin) == 1
            }
            #expect(held)
            #expect(throws: (any Error).self) { _ = try PostgresEngine(settings: settings, exclusive: true) }
            try engine.put(handle(5), [5], in: .records)
            #expect(try engine.get(handle(5), in: .records) == [5])
        }
    }

    /// A schema of its own, and an engine that is not a writer, for the test's own statements.
    private func withSchema(_ body: (PostgresSettings, PostgresEngine) throws -> Void) throws {
        let schema = "test_" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let settings = try PostgresSettings(url: postgresURL!, poolSize: 2, schema: schema)
        let admin = try PostgresEngine(settings: settings, migrate: true)
        defer {
            try? admin.execute("DROP SCHEMA \"\(schema)\" CASCADE")
            admin.close()
        }
        try body(settings, admin)
    }

    /// pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits).
    private func lockCondition(_ settings: PostgresSettings) -> String {
        let key = UInt64(bitPattern: Migrations.lockKey(schema: "writer:" + settings.schema))
        return "locktype = 'advisory' AND granted AND objsubid = 1 AND classid::text = '\(key >> 32)' AND objid::text = '\(key & 0xffff_ffff)'"
    }

    private func endLockSession(of settings: PostgresSettings, using admin: PostgresEngine) throws {
        try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE \(lockCondition(settings))")
    }

    private func lockHolders(of settings: PostgresSettings, using admin: PostgresEngine) throws -> Int {
        try admin.integer("SELECT count(*) FROM pg_locks WHERE \(lockCondition(settings))")
    }
}
