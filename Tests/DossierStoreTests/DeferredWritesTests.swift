import Foundation
import Synchronization
import Testing

@testable import DossierStore

/// Refusals' log writes made after the answer (PostgreSQL): kept in order, tried again while
/// the database is unreachable, and counted when given up.
@Suite struct DeferredWritesTests {
    /// Fails its first `failures` calls, then records the order it was called in.
    final class FlakyWrite: Sendable {
        let failures: Int
        let calls = Mutex(0)
        let done = Mutex<[Int]>([])
        init(failures: Int) { self.failures = failures }

        func write(_ number: Int) throws {
            let call = calls.withLock { calls in
                calls += 1
                return calls
            }
            guard call > failures else { throw StoreUnavailableError("the database is away") }
            done.withLock { $0.append(number) }
        }
    }

    @Test func aFailedWriteIsTriedAgainAndTheOrderKept() throws {
        let counters = StoreCounters()
        let writes = DeferredWrites(retryWindow: .seconds(30), counters: counters)
        let flaky = FlakyWrite(failures: 3)
        for number in 0..<5 {
            #expect(writes.submit(for: ["r"]) { try flaky.write(number) })
        }
        writes.wait(for: ["r"])
        #expect(flaky.done.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(counters.snapshot.deferredWriteRetries == 3)
        #expect(counters.snapshot.deferredWritesLost == 0)
        writes.drain()
    }

    @Test func aWriteStillFailingAfterTheWindowIsCountedLost() throws {
        let counters = StoreCounters()
        let writes = DeferredWrites(retryWindow: .milliseconds(300), counters: counters)
        let flaky = FlakyWrite(failures: .max)
        #expect(writes.submit(for: ["r"]) { try flaky.write(0) })
        writes.wait(for: ["r"])
        #expect(counters.snapshot.deferredWritesLost == 1)
        #expect(counters.snapshot.deferredWriteRetries >= 1)
        #expect(flaky.done.withLock { $0 }.isEmpty)
        writes.drain()
    }

    @Test func closingTriesAFailingWriteOnceMore() throws {
        let counters = StoreCounters()
        let writes = DeferredWrites(retryWindow: .seconds(3_600), counters: counters)
        let flaky = FlakyWrite(failures: .max)
        #expect(writes.submit(for: ["r"]) { try flaky.write(0) })
        writes.drain()  // returns: the write is given up at its next failure, not in an hour
        #expect(counters.snapshot.deferredWritesLost == 1)
    }
}
