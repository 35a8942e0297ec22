import Foundation
import RocksDB

/// Group fsync of the write-ahead log for writes made under a record's lock without sync
/// (early lock release, decision 0003): the lock covers the checks and the write, the fsync
/// comes after, and every writer waiting at that point shares it.
///
/// - A call is answered only once `waitDurable` returned for its write, so nothing
///   acknowledged can be lost.
/// - A reader that may have seen another's not-yet-durable write (a later transaction, or a
///   read without the record's lock) calls `barrier()` before answering, so no answer reveals a
///   state that a crash could undo.
/// - RocksDB recovers its log as a prefix, so the order of writes (and the access log's hash
///   chain) survives a crash.
/// - A failed fsync is final: every later wait fails (the pages it could not write may be gone
///   even if a second fsync succeeds), until the server restarts and RocksDB recovers.
final class WALSync: @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`.
    private let condition = NSCondition()
    private let database: Database
    /// Unsynced writes started and not yet returned.
    private var inFlight = 0
    /// Unsynced writes made (tickets issued), and the last ticket known durable.
    private var written: UInt64 = 0
    private var synced: UInt64 = 0
    /// fsyncs started, and the number of the last one completed.
    private var started: UInt64 = 0
    private var completed: UInt64 = 0
    /// Whether a thread is in the fsync now (the others wait for it, then maybe lead the next).
    private var syncing = false
    private var failure: (any Error)?

    init(database: Database) {
        self.database = database
    }

    /// Runs `write` (a RocksDB write with `sync: false`) and returns its ticket.
    func write(_ write: () throws -> Void) throws -> UInt64 {
        condition.lock()
        inFlight += 1
        condition.unlock()
        let outcome = Result { try write() }
        condition.lock()
        defer { condition.unlock() }
        inFlight -= 1
        try outcome.get()
        written += 1
        return written
    }

    /// Blocks until the write with `ticket` (and all before it) is durable. One waiting thread
    /// runs the fsync for everyone written before it started.
    func waitDurable(_ ticket: UInt64) throws {
        condition.lock()
        defer { condition.unlock() }
        while synced < ticket {
            try leadOrWait()
        }
    }

    /// Blocks until every write that a read made before this call could have seen is durable:
    /// at once when no unsynced write is pending, else after a fsync started after this call.
    func barrier() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        guard inFlight > 0 || synced < written else { return }
        let needed = started + 1
        while completed < needed {
            try leadOrWait()
        }
    }

    /// With the lock held: waits for the fsync in progress, or runs the next one.
    private func leadOrWait() throws {
        if let failure { throw failure }
        if syncing {
            condition.wait()
            return
        }
        syncing = true
        started += 1
        let number = started
        let target = written
        condition.unlock()
        let outcome = Result { try database.syncWAL() }
        condition.lock()
        syncing = false
        switch outcome {
        case .success:
            synced = max(synced, target)
            completed = max(completed, number)
        case .failure(let error):
            failure = error
        }
        condition.broadcast()
        if let failure { throw failure }
    }
}
