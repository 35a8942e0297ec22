import Foundation
import RocksDB

/// Group fsync of the write-ahead log for writes made under a record's lock without sync
/// (early lock release): the lock covers the checks and the write, the fsync comes after, and
/// every writer waiting at that point shares it. A call is answered only once `waitDurable`
/// returned for its write, so nothing acknowledged can be lost; a transaction that read
/// another's not-yet-durable write waits for it too (`current()`), so no answer reveals a
/// state a crash could undo. RocksDB recovers its log as a prefix, so the order of writes
/// (and the access log's hash chain) survives a crash.
final class WALSync: @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`.
    private let condition = NSCondition()
    private let database: Database
    /// Writes made (tickets issued) and writes known durable.
    private var written: UInt64 = 0
    private var synced: UInt64 = 0
    /// Whether a thread is in the fsync now (the others wait for it, then maybe lead the next).
    private var syncing = false

    init(database: Database) {
        self.database = database
    }

    /// A ticket for a write that just returned (made with `sync: false`).
    func wrote() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        written += 1
        return written
    }

    /// A ticket covering every write made so far (for a transaction that only read).
    func current() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return written
    }

    /// Blocks until the write with `ticket` (and all before it) is durable. One waiting thread
    /// runs the fsync for everyone written before it started.
    func waitDurable(_ ticket: UInt64) throws {
        condition.lock()
        defer { condition.unlock() }
        while synced < ticket {
            if syncing {
                condition.wait()
                continue
            }
            syncing = true
            let target = written
            condition.unlock()
            let failure: (any Error)?
            do {
                try database.syncWAL()
                failure = nil
            } catch {
                failure = error
            }
            condition.lock()
            syncing = false
            if failure == nil {
                synced = max(synced, target)
            }
            condition.broadcast()
            if let failure { throw failure }
        }
    }
}
