import DossierStore
import Dispatch
import NIOCore
import PostgresNIO
import Synchronization

/// At most `poolSize` connections, each used by one call at a time.
///
/// Blocking, like the engine: a call takes a connection (waiting for a free slot), runs, and
/// gives it back, or drops it when it failed. A lost connection empties the idle list too:
/// after a failover every idle connection points at the old primary, and the next call should
/// find the new one at once rather than fail once per stale connection.
final class ConnectionPool: Sendable {
    private struct State {
        var idle: [PostgresConnection] = []
        var closed = false
    }

    private let connector: PrimaryConnector
    /// The free slots.
    private let slots: DispatchSemaphore
    private let state = Mutex(State())
    /// How long a call waits for a slot before giving up.
    private let acquireTimeout: DispatchTimeInterval
    /// How long a bounded operation may go unanswered: the server's statement timeout, and a
    /// margin for its cancellation to arrive.
    private let backstop: Duration

    init(connector: PrimaryConnector, size: Int, acquireTimeout: DispatchTimeInterval = .seconds(30)) {
        self.connector = connector
        self.slots = DispatchSemaphore(value: size)
        self.acquireTimeout = acquireTimeout
        self.backstop = connector.settings.statementTimeout + .seconds(5)
    }

    /// Runs `operation` on a pooled connection; `action` names it in errors. Bounded (the
    /// default): a connection that has not answered a few seconds past the statement timeout
    /// (the server cancels a statement at it) is closed, so that a hung server or a silent
    /// network fails the call instead of holding it forever. Migrations run unbounded.
    func with<T: Sendable>(
        _ action: String, bounded: Bool = true, _ operation: @escaping @Sendable (PostgresConnection) async throws -> T
    ) throws -> T {
        guard slots.wait(timeout: .now() + acquireTimeout) == .success else {
            throw StoreUnavailableError("every PostgreSQL connection stayed busy during \(action)")
        }
        defer { slots.signal() }
        let reused: PostgresConnection?? = state.withLock { state in
            if state.closed { return .some(nil) }
            return .some(state.idle.popLast())
        }
        guard let reused else { throw StoreUnavailableError("the PostgreSQL engine is closed") }
        let connector = self.connector
        let backstop = self.backstop
        do {
            let (connection, result) = try Blocking.run { () async throws -> (PostgresConnection, T) in
                var connection = reused
                if connection?.isClosed ?? true {
                    if let stale = connection { try? await stale.close() }
                    connection = try await connector.connect()
                }
                let live = connection!
                let watchdog = bounded ? Watchdog(closing: live, after: backstop) : nil
                defer { watchdog?.cancel() }
                do {
                    return (live, try await operation(live))
                } catch {
                    if watchdog?.fired ?? false {
                        throw ConnectionFailure(connection: live, error: StoreUnavailableError(
                            "PostgreSQL did not answer \(action) within \(backstop) (the connection was closed)"))
                    }
                    throw ConnectionFailure(connection: live, error: error)
                }
            }
            giveBack(connection)
            return result
        } catch let failure as ConnectionFailure {
            let classified = PostgresFailure(failure.error, while: action)
            if classified.losesConnection {
                drop(failure.connection, andIdle: true)
            } else {
                giveBack(failure.connection)
            }
            throw classified.error
        } catch {
            // Connecting failed: nothing to give back.
            throw PostgresFailure(error, while: action).error
        }
    }

    /// Closes the idle connections; busy ones close when they come back.
    func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        closeAll(idle)
    }

    private func giveBack(_ connection: PostgresConnection) {
        let keep = state.withLock { state in
            guard !state.closed, !connection.isClosed else { return false }
            state.idle.append(connection)
            return true
        }
        if !keep { closeAll([connection]) }
    }

    private func drop(_ connection: PostgresConnection, andIdle: Bool) {
        let idle: [PostgresConnection] = andIdle ? state.withLock { state in
            defer { state.idle = [] }
            return state.idle
        } : []
        closeAll([connection] + idle)
    }

    private func closeAll(_ connections: [PostgresConnection]) {
        guard !connections.isEmpty else { return }
        try? Blocking.run {
            for connection in connections { try? await connection.close() }
        }
    }
}

/// An operation's error, with the connection it happened on.
private struct ConnectionFailure: Error {
    let connection: PostgresConnection
    let error: any Error
}

/// Closes a connection that has not finished its operation in time (its queries then fail).
///
/// A timer on the connection's own event loop, cheap to schedule and cancel around every
/// operation.
private final class Watchdog: Sendable {
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    private let flag = Flag()
    private let timer: Scheduled<Void>

    init(closing connection: PostgresConnection, after timeout: Duration) {
        let flag = self.flag
        timer = connection.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            flag.value.store(true, ordering: .sequentiallyConsistent)
            connection.close().whenComplete { _ in }
        }
    }

    var fired: Bool { flag.value.load(ordering: .sequentiallyConsistent) }

    func cancel() { timer.cancel() }
}
