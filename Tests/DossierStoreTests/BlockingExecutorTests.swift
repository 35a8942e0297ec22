import Foundation
import Testing

@testable import DossierStore

/// The storage executor releases what a job captured as soon as the job has run, even while
/// its queue never drains (before: every finished job and its captures stayed until the queue
/// was empty, so memory grew without bound under sustained load).
@Suite struct BlockingExecutorTests {
    final class Payload: Sendable {
        let bytes = [UInt8](repeating: 7, count: 1 << 20)
    }

    final class Gate: @unchecked Sendable {
        // @unchecked: a semaphore is thread-safe.
        let semaphore = DispatchSemaphore(value: 0)
    }

    @Test func aFinishedJobsCapturesAreReleasedWhileTheQueueNeverDrains() async throws {
        let executor = BlockingExecutor(threads: 1, name: "test-executor")
        let first = Gate()
        let second = Gate()
        weak var released: Payload?
        // The one thread is busy; behind it: a job holding a payload, a job that blocks, and one
        // more. Once the first two have run, the queue still holds the last: it never drains.
        let busy = Task { try await executor.run { first.semaphore.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let holding: Task<Int, any Error>
        do {
            let payload = Payload()
            released = payload
            holding = Task { try await executor.run { payload.bytes.count } }
        }
        try await Task.sleep(for: .milliseconds(50))
        let blocking = Task { try await executor.run { second.semaphore.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let waiting = Task { try await executor.run { 1 } }
        try await Task.sleep(for: .milliseconds(50))
        first.semaphore.signal()
        #expect(try await holding.value == 1 << 20)
        try await Task.sleep(for: .milliseconds(100))
        #expect(released == nil, "the finished job's payload is still held by the queue")
        second.semaphore.signal()
        _ = try await busy.value
        _ = try await blocking.value
        _ = try await waiting.value
        executor.shutdown()
    }

    /// The queue is bounded: past `maxQueued` waiting jobs a job is refused (StoreBusyError,
    /// answered SERVER_BUSY), not queued; once the queue moves, jobs are taken again.
    @Test func aFullQueueRefusesJobsInsteadOfGrowing() async throws {
        let executor = BlockingExecutor(threads: 1, name: "test-bounded", maxQueued: 2)
        let gate = Gate()
        let busy = Task { try await executor.run { gate.semaphore.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        let queued = (0..<2).map { index in Task { try await executor.run { index } } }
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: StoreBusyError.self) { try await executor.run { 99 } }
        gate.semaphore.signal()
        _ = try await busy.value
        let first = try await queued[0].value
        let second = try await queued[1].value
        #expect(first == 0 && second == 1)
        #expect(try await executor.run { 3 } == 3)
        executor.shutdown()
    }
}
