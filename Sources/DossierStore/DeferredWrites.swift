import Foundation

/// Writes that acknowledge nothing — a transaction that only logs refusals — made after the
/// answer on an engine where every write is a round trip (PostgreSQL), so that a refusal on an
/// existing record is answered as fast as one on a missing record, where nothing is written
/// (timing must not tell whether a record exists). On RocksDB the write itself is a memory
/// write and only its fsync is deferred (WALSync); here the whole write is.
///
/// Order is kept: the writes run one at a time, in submission order, and a record's next
/// transaction (or purge) waits, under the record's lock, until that record's deferred writes
/// are done, so its log grows as one chain. Past `limit` writes waiting, a write is made at
/// once instead (a flood of refusals then costs the caller its own write, and memory stays
/// bounded).
///
/// A write that fails (the database unreachable, a failover) is tried again, with a growing
/// pause, until `retryWindow` after its submission (once only while closing); one that still
/// fails is lost: the refusal is missing from the record's log, which still verifies (the entry
/// and the log's head were one batch). Both are counted (StoreCounters, on /metrics).
final class DeferredWrites: @unchecked Sendable {
    // @unchecked: `pending`, `waiting` and `closing` are guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [String: Int] = [:]
    private var waiting = 0
    private var closing = false
    private let queue = DispatchQueue(label: "dossier-deferred-writes")
    private let limit: Int
    private let retryWindow: Duration
    private let counters: StoreCounters

    init(limit: Int = 1_024, retryWindow: Duration = .seconds(10), counters: StoreCounters) {
        self.limit = limit
        self.retryWindow = retryWindow
        self.counters = counters
    }

    /// Runs `write` after the caller's answer; false (nothing submitted) when too many wait.
    func submit(for records: [String], _ write: @escaping @Sendable () throws -> Void) -> Bool {
        condition.lock()
        guard waiting < limit else {
            condition.unlock()
            return false
        }
        waiting += 1
        for record in records { pending[record, default: 0] += 1 }
        condition.unlock()
        let deadline = ContinuousClock.now + retryWindow
        queue.async { [self] in
            attempt(write, until: deadline)
            condition.lock()
            waiting -= 1
            for record in records {
                pending[record, default: 1] -= 1
                if pending[record] == 0 { pending[record] = nil }
            }
            condition.broadcast()
            condition.unlock()
        }
        return true
    }

    private func attempt(_ write: () throws -> Void, until deadline: ContinuousClock.Instant) {
        var pause = Duration.milliseconds(50)
        while true {
            do {
                try write()
                return
            } catch {
                condition.lock()
                let giveUp = closing || ContinuousClock.now + pause > deadline
                condition.unlock()
                if giveUp {
                    counters.recordDeferredWrite(lost: true)
                    return
                }
                counters.recordDeferredWrite(lost: false)
                Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    /// Returns once every deferred write is done (before the engine closes); a failing write is
    /// not tried again from now on.
    func drain() {
        condition.lock()
        closing = true
        while waiting > 0 { condition.wait() }
        condition.unlock()
    }

    /// Returns once no deferred write of these records is waiting or running.
    func wait(for records: [String]) {
        condition.lock()
        while records.contains(where: { pending[$0] != nil }) { condition.wait() }
        condition.unlock()
    }
}
