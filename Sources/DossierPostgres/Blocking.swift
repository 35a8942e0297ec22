import Dispatch
import Foundation
import Synchronization

/// Runs async postgres-nio calls for the engine's blocking methods.
///
/// The caller's thread parks on a semaphore while a task does the work, so the task must not
/// need the thread pool the caller may belong to: the store calls its engine from its own
/// executor threads, but the engine is also opened (and tests call stores) from async code, on
/// the Swift concurrency pool — two cores make two pool threads, and two parked callers would
/// leave no thread for the tasks they wait for. The tasks therefore run on `BridgeExecutor`'s
/// own threads (a task executor preference), their I/O on NIO's event loops.
enum Blocking {
    static func run<T: Sendable>(_ operation: sending @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Outcome<T>()
        Task(executorPreference: BridgeExecutor.shared) {
            do {
                outcome.finish(.success(try await operation()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        return try outcome.wait().get()
    }
}

/// A task executor on two threads of its own, for the short steps between postgres-nio's
/// awaits (the waiting itself happens on NIO's event loops).
final class BridgeExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` is guarded by `condition`.
    static let shared = BridgeExecutor(threads: 2)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "dossier-postgres-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// The result of one task, handed to the thread that waits for it.
private final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ value: Result<T, any Error>) {
        result.withLock { $0 = value }
        done.signal()
    }

    func wait() -> Result<T, any Error> {
        done.wait()
        return result.withLock { $0! }
    }
}
