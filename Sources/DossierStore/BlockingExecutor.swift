import Foundation

/// A fixed pool of threads for blocking storage work, so that no event loop and no Swift
/// concurrency thread ever waits on RocksDB or an fsync.
///
/// Many threads on purpose: durable writes block in fsync, and RocksDB groups the writes of
/// concurrent threads into one WAL sync (group commit), so durable throughput grows with the
/// number of writers waiting together.
final class BlockingExecutor: @unchecked Sendable {
    // @unchecked: `jobs`, `head` and `isShutDown` are only touched with `condition` locked.
    private let condition = NSCondition()
    /// Queued jobs from `head` on; a taken job's slot is emptied at once, so that what it
    /// captured (a request's payload, an upload chunk) is released as soon as it has run, even
    /// when the queue never drains.
    private var jobs: [(() -> Void)?] = []
    private var head = 0
    private var isShutDown = false
    /// Jobs waiting beyond this are refused (StoreBusyError): the queue is bounded. The server's
    /// in-flight budget (InflightBudget) keeps it far below in practice.
    let maxQueued: Int
    private let finished = DispatchGroup()

    init(threads: Int, name: String, maxQueued: Int = 65_536) {
        self.maxQueued = maxQueued
        for index in 0..<max(1, threads) {
            finished.enter()
            let thread = Thread { [self] in
                workLoop()
                finished.leave()
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on a pool thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            switch enqueue({ continuation.resume(with: Result { try body() }) }) {
            case .accepted: break
            case .closed: continuation.resume(throwing: StoreClosedError())
            case .full: continuation.resume(throwing: StoreBusyError())
            }
        }
    }

    /// Finishes the queued jobs, then stops the threads. Idempotent.
    func shutdown() {
        condition.lock()
        isShutDown = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private enum Enqueued { case accepted, closed, full }

    private func enqueue(_ job: @escaping () -> Void) -> Enqueued {
        condition.lock()
        defer { condition.unlock() }
        guard !isShutDown else { return .closed }
        guard jobs.count - head < maxQueued else { return .full }
        jobs.append(job)
        condition.signal()
        return .accepted
    }

    private func workLoop() {
        while true {
            condition.lock()
            while head == jobs.count && !isShutDown {
                condition.wait()
            }
            guard head < jobs.count else {
                condition.unlock()
                return
            }
            let job = jobs[head].take()
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1_024, head * 2 >= jobs.count {
                jobs.removeFirst(head)  // the emptied slots, so the array does not grow forever
                head = 0
            }
            condition.unlock()
            job?()
        }
    }
}

/// The storage queue is full: the call did not run (answered RESOURCE_EXHAUSTED, retry later).
public struct StoreBusyError: Error, CustomStringConvertible {
    public var description: String { "the storage queue is full" }
}

/// Work submitted after the store was closed.
struct StoreClosedError: Error, CustomStringConvertible {
    var description: String { "the store is closed" }
}
