import DossierStore
import NIOCore
import PostgresNIO

/// PostgreSQL refused a statement on a healthy connection (a constraint, a missing table, a
/// schema newer than this code): retrying will not help.
///
/// Carries the SQLSTATE and the server's primary message only: the message names tables and
/// constraints, while the detail (left out) can quote the row, i.e. keys.
public struct PostgresEngineError: Error, CustomStringConvertible, Sendable {
    /// The SQLSTATE, when the server sent one.
    public let sqlState: String?
    public let description: String

    init(_ description: String, sqlState: String? = nil) {
        self.description = description
        self.sqlState = sqlState
    }
}

/// How a failure is answered: whether the connection may be used again, and what the caller sees.
enum PostgresFailure {
    /// The connection is gone or points at a server that no longer takes writes (a failover):
    /// drop it, and every idle one, which most likely went the same way.
    case connectionLost(StoreUnavailableError)
    /// A refusal on a working connection.
    case refused(PostgresEngineError)
    /// The statement could not be served now (cancelled at the statement timeout, a deadlock, a
    /// lock not available): retryable, and the connection is fine.
    case busy(StoreUnavailableError)

    /// SQLSTATEs that mean "try again": nothing was done.
    static let busyStates: Set<String> = [
        "57014",  // query_canceled: the statement timeout
        "40001",  // serialization_failure
        "40P01",  // deadlock_detected
        "55P03",  // lock_not_available
    ]

    /// SQLSTATEs that mean "this server, or this session, cannot serve you now".
    static let unavailableStates: Set<String> = [
        "57P01",  // admin_shutdown: the server is stopping (a switchover)
        "57P02",  // crash_shutdown
        "57P03",  // cannot_connect_now: starting up or in recovery
        "25006",  // read_only_sql_transaction: this is (now) a standby
        "53300",  // too_many_connections
    ]

    init(_ error: any Error, while action: String) {
        if let unavailable = error as? StoreUnavailableError {
            self = .connectionLost(unavailable)
            return
        }
        if let refused = error as? PostgresEngineError {
            self = .refused(refused)
            return
        }
        if let error = error as? PSQLError {
            if error.code == .server {
                let state = error.serverInfo?[.sqlState]
                let message = error.serverInfo?[.message] ?? "no message"
                // Class 08: connection exception.
                if let state, Self.busyStates.contains(state) {
                    self = .busy(StoreUnavailableError("PostgreSQL could not serve \(action) now (SQLSTATE \(state): \(message))"))
                } else if let state, Self.unavailableStates.contains(state) || state.hasPrefix("08") {
                    self = .connectionLost(StoreUnavailableError("PostgreSQL cannot serve \(action) now (SQLSTATE \(state): \(message))"))
                } else {
                    self = .refused(PostgresEngineError("PostgreSQL refused \(action) (SQLSTATE \(state ?? "none"): \(message))", sqlState: state))
                }
                return
            }
            if error.code == .queryCancelled || error.code == .tooManyParameters || error.code == .invalidCommandTag {
                self = .refused(PostgresEngineError("PostgreSQL refused \(action) (\(error.code))"))
                return
            }
            // Every other code is about the connection: closed, unclean shutdown, TLS, decoding.
            self = .connectionLost(StoreUnavailableError("lost the PostgreSQL connection during \(action) (\(error.code))"))
            return
        }
        // ChannelError, IOError, NIOConnectionError, a connect timeout…: the socket.
        self = .connectionLost(StoreUnavailableError("lost the PostgreSQL connection during \(action) (\(type(of: error)))"))
    }

    var error: any Error {
        switch self {
        case .connectionLost(let error): error
        case .refused(let error): error
        case .busy(let error): error
        }
    }

    var losesConnection: Bool {
        if case .connectionLost = self { return true }
        return false
    }
}
