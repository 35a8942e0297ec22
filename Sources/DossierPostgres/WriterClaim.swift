import Dispatch
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// One dossierd writes to a schema (decision 0009): two, each with its own record locks, would
/// fork a record's hash chain. The claim has two parts:
///
/// - **The writer lock**, a session advisory lock on a session of its own: a second dossierd
///   is refused at start while it is held. A session can be lost (a network cut, a failover to
///   a standby that holds no lock), so the claim checks it every `heartbeat` and takes the lock
///   again on a new session, on whichever host is the primary now.
/// - **The writer epoch**, `dossier_writer.epoch`, raised by each dossierd that takes the lock.
///   Every write first reads it, under a shared advisory lock, and goes on only if it is still
///   this claim's (`dossier_writer_check`, called inside the write's own statement): a dossierd
///   that took over while this one had lost its lock fences it at once (it raises the epoch
///   holding that lock exclusively, so the writes that read the old epoch finish first, and every
///   later one sees the new epoch). A fenced engine refuses every write UNAVAILABLE until it is restarted, which the
///   running writer's lock then refuses.
final class WriterClaim: Sendable {
    let epoch: Int64
    private let schema: String
    private let lockKey: Int64
    private let session: Mutex<PostgresConnection?>
    private let fenced = Mutex<String?>(nil)
    /// Signalled by `close()` to end the heartbeat thread.
    private let stopping = DispatchSemaphore(value: 0)
    private let logger: Logger
    static let heartbeat: TimeInterval = 2
    /// How long the lock's session has to answer a heartbeat.
    static let answerWithin: Duration = .seconds(5)

    /// Takes the schema's writer lock and raises the epoch; fails when another engine holds it.
    init(connector: PrimaryConnector, schema: String, logger: Logger) throws {
        self.schema = schema
        self.logger = logger
        let lockKey = Migrations.lockKey(schema: "writer:" + schema)
        self.lockKey = lockKey
        let table = Self.table(schema)
        let (session, epoch) = try Blocking.run { () async throws -> (PostgresConnection, Int64) in
            let session = try await connector.connect()
            do {
                guard try await Self.tryLock(lockKey, on: session, logger: logger) else {
                    throw PostgresEngineError(
                        "another dossierd is serving the PostgreSQL schema \(schema) (it holds the schema's writer lock): one server per schema")
                }
                // Raised under the epoch lock held exclusively: the previous writer's writes in
                // flight finish first, and every later one of it reads the new epoch.
                var binds = PostgresBindings()
                binds.append(Self.epochLockKey(schema))
                _ = try await session.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_lock($1)", binds: binds), logger: logger).collect()
                let rows = try await session.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO \(table) (id, epoch) VALUES (1, 1)
                    ON CONFLICT (id) DO UPDATE SET epoch = \(table).epoch + 1, taken_at = now()
                    RETURNING epoch
                    """), logger: logger).collect()
                _ = try await session.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock($1)", binds: binds), logger: logger).collect()
                guard let epoch = try rows.first?.decode(Int64.self) else { throw PostgresEngineError("PostgreSQL returned no writer epoch") }
                return (session, epoch)
            } catch {
                try? await session.close()
                throw error
            }
        }
        self.epoch = epoch
        self.session = Mutex(session)
        // A thread of its own: the heartbeat must not depend on a free thread of the Swift
        // concurrency pool, which blocking callers may hold.
        let thread = Thread { [self] in
            var warned = false
            while stopping.wait(timeout: .now() + Self.heartbeat) == .timedOut {
                beat(connector: connector, warned: &warned)
            }
        }
        thread.name = "dossier-postgres-writer"
        thread.start()
    }

    /// The SQLSTATE of `dossier_writer_check` when the epoch is not this claim's.
    static let fencedState = "DW001"

    /// What every write calls (migration 2): `function(epoch, lockKey)` reads the epoch under a
    /// shared advisory lock on `lockKey`, and fails with `fencedState` when it is not this claim's.
    struct Check: Sendable {
        let function: String
        let epoch: Int64
        let lockKey: Int64
    }

    var check: Check { Check(function: "\"\(schema)\".dossier_writer_check", epoch: epoch, lockKey: Self.epochLockKey(schema)) }

    /// The advisory lock writes hold shared while they check the epoch, and a new writer holds
    /// exclusively while it raises it (not the writer lock: the writer's own session holds that).
    static func epochLockKey(_ schema: String) -> Int64 { Migrations.lockKey(schema: "writer-epoch:" + schema) }

    /// Why writes are refused, once another dossierd took the schema over.
    var fencedReason: String? { fenced.withLock { $0 } }

    /// A write met another writer's epoch: from now on every write is refused without trying.
    /// Logged once, at error level. Returns the reason.
    func noteFenced(_ detail: String) -> String {
        let reason = "another dossierd took over the writes of the PostgreSQL schema \(schema) (\(detail)): this server no longer writes; stop it"
        let first = fenced.withLock { fenced in
            defer { if fenced == nil { fenced = reason } }
            return fenced == nil
        }
        if first {
            logger.error("\(reason)")
            // Nor may it keep the writer lock: the server that writes, restarted, must get it.
            let held = session.withLock { session in
                defer { session = nil }
                return session
            }
            if let held { try? Blocking.run { try await held.close() } }
        }
        return fencedReason ?? reason
    }

    func close() {
        stopping.signal()
        let held = session.withLock { session in
            defer { session = nil }
            return session
        }
        if let held { try? Blocking.run { try await held.close() } }  // releases the writer lock
    }

    /// One heartbeat: the lock's session still answers, or the lock is taken again on a new
    /// one. While it cannot be (PostgreSQL unreachable, or the old session not yet ended on the
    /// server), writes go on under the epoch check.
    private func beat(connector: PrimaryConnector, warned: inout Bool) {
        guard fencedReason == nil, let current = session.withLock({ $0 }) else { return }
        let logger = self.logger
        let lockKey = self.lockKey
        // A session the server ended may never answer (nor fail) a query: bounded by a timer
        // that closes it.
        let alive = !current.isClosed && (try? Blocking.run {
            let timer = current.eventLoop.scheduleTask(in: TimeAmount(Self.answerWithin)) { current.close().whenComplete { _ in } }
            defer { timer.cancel() }
            _ = try await current.query("SELECT 1", logger: logger)
            return true
        }) == true
        if alive { return }
        let epoch = self.epoch
        let table = Self.table(schema)
        let outcome = Result { try Blocking.run { () async throws -> PostgresConnection? in
            try? await current.close()
            let fresh = try await connector.connect()
            guard try await Self.tryLock(lockKey, on: fresh, logger: logger) else {
                try? await fresh.close()
                return nil
            }
            // Taken again, but another server may have raised the epoch meanwhile: then this one
            // is fenced and must not keep the lock from the server that writes.
            let rows = try await fresh.query(PostgresQuery(unsafeSQL: "SELECT epoch FROM \(table) WHERE id = 1"), logger: logger).collect()
            guard try rows.first?.decode(Int64.self) == epoch else {
                try? await fresh.close()
                throw WriterFenced()
            }
            return fresh
        } }
        if case .failure(let error) = outcome, error is WriterFenced {
            _ = noteFenced("a newer writer's epoch")
            return
        }
        let retaken = try? outcome.get()
        guard let fresh = retaken else {
            if !warned {
                logger.warning("lost the PostgreSQL writer lock of schema \(schema) and cannot take it again yet; writes go on while the writer epoch is this server's")
                warned = true
            }
            return
        }
        let kept = session.withLock { session -> Bool in
            guard session != nil else { return false }  // closed meanwhile
            session = fresh
            return true
        }
        if !kept { try? Blocking.run { try await fresh.close() } }
        if warned { logger.notice("the PostgreSQL writer lock of schema \(schema) is held again") }
        warned = false
    }

    private static func tryLock(_ key: Int64, on session: PostgresConnection, logger: Logger) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append(key)
        let rows = try await session.query(PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_lock($1)", binds: binds), logger: logger).collect()
        return try rows.first?.decode(Bool.self) == true
    }

    static func table(_ schema: String) -> String { "\"\(schema)\".dossier_writer" }
}

/// The writer lock was taken again, but the epoch is another server's.
private struct WriterFenced: Error {}
