import DossierStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Opens connections to the cluster's primary.
///
/// Tries the hosts in the order given and keeps the first that takes writes
/// (`pg_is_in_recovery()` false), like libpq with `target_session_attrs=read-write`: every new
/// connection looks again, so after a failover they find the promoted primary without a
/// configuration change.
final class PrimaryConnector: Sendable {
    let settings: PostgresSettings
    private let tls: PostgresConnection.Configuration.TLS
    private let logger: Logger
    private let nextID = Mutex(1)

    init(settings: PostgresSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.tls = try Self.tls(for: settings)
    }

    /// A connection to a writable server, or StoreUnavailableError naming why each host failed.
    func connect() async throws -> PostgresConnection {
        var reasons: [String] = []
        for host in settings.hosts {
            let id = nextID.withLock { id in
                defer { id &+= 1 }
                return id
            }
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(),
                    configuration: configuration(for: host), id: id, logger: logger)
            } catch {
                reasons.append("\(host.name):\(host.port): \(Self.reason(error))")
                continue
            }
            do {
                let rows = try await connection.query("SELECT pg_is_in_recovery()", logger: logger).collect()
                if let row = rows.first, try row.decode(Bool.self) == false {
                    return connection
                }
                reasons.append("\(host.name):\(host.port): a standby")
            } catch {
                reasons.append("\(host.name):\(host.port): \(Self.reason(error))")
            }
            try? await connection.close()
        }
        throw StoreUnavailableError("no writable PostgreSQL server (\(reasons.joined(separator: "; ")))")
    }

    private func configuration(for host: PostgresSettings.Host) -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host.name, port: host.port, username: settings.username, password: settings.password,
            database: settings.database, tls: tls)
        configuration.options.connectTimeout = TimeAmount(settings.connectTimeout)
        let statementTimeout = settings.statementTimeout.components
        let milliseconds = statementTimeout.seconds * 1_000 + statementTimeout.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("application_name", "dossierd"), ("statement_timeout", "\(milliseconds)"),
            // The writer check reads the epoch after taking its lock: only READ COMMITTED takes a
            // snapshot after it, whatever the database's default (WriterClaim).
            ("default_transaction_isolation", "read committed"),
        ]
        return configuration
    }

    private static func tls(for settings: PostgresSettings) throws -> PostgresConnection.Configuration.TLS {
        switch settings.tlsMode {
        case .disable:
            return .disable
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let path = settings.rootCertificatePath {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw PostgresEngineError("sslrootcert \(path) cannot be read")
                }
                configuration.trustRoots = .file(path)
            }
            do {
                return .require(try NIOSSLContext(configuration: configuration))
            } catch {
                throw PostgresEngineError("cannot use sslrootcert for PostgreSQL: \(error)")
            }
        }
    }

    /// Why a host failed, without anything the server echoed back of our queries.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                return "SQLSTATE \(state): \(error.serverInfo?[.message] ?? "")"
            }
            if error.code == .authMechanismRequiresPassword {
                return "the server asks for a password and none was given (postgres-password-file or PGPASSWORD)"
            }
            // A connection's failure says why (refused, timed out, the certificate not trusted).
            return error.underlying.map { "\(error.code): \($0)" } ?? "\(error.code)"
        }
        return String(describing: error)
    }
}
