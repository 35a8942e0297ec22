import Dispatch
import Synchronization

/// Runs async postgres-nio calls for the engine's blocking methods.
///
/// The store calls its engine from its own executor threads, never from an event loop or the
/// Swift concurrency pool, so parking the calling thread on a semaphore while a task does the
/// work starves nobody: the task runs on the cooperative pool, the I/O on NIO's event loops.
enum Blocking {
    static func run<T: Sendable>(_ operation: sending @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Outcome<T>()
        Task.detached {
            do {
                outcome.finish(.success(try await operation()))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        return try outcome.wait().get()
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
