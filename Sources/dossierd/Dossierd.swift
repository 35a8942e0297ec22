import ArgumentParser
import DossierCore
import DossierServer
import DossierStore
import DossierTransport
import Foundation
import Logging
import ServiceLifecycle

@main
struct Dossierd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossierd",
        abstract: "The Dossier shared-care-record server (ttrpc over mutual TLS, embedded RocksDB).",
        discussion: "Every option can also be set in the environment as DOSSIERD_<OPTION> (e.g. DOSSIERD_PORT); flags win.")

    @Option(help: "Address to listen on.") var host: String = env("HOST") ?? "127.0.0.1"
    @Option(help: "TCP port (0 picks a free one).") var port: Int = env("PORT").flatMap(Int.init) ?? 7443
    @Option(help: "RocksDB data directory (created if missing).") var dataDir: String = env("DATA_DIR") ?? "./data"
    @Option(help: "Server certificate chain, PEM.") var cert: String = env("CERT") ?? "certs/dev/server.pem"
    @Option(help: "Server private key, PEM.") var key: String = env("KEY") ?? "certs/dev/server.key"
    @Option(help: "CA bundle that client certificates must chain to, PEM.") var clientCA: String = env("CLIENT_CA") ?? "certs/dev/ca.pem"
    @Flag(help: "Also accept TLS 1.2 (default: TLS 1.3 only).") var allowTLS12 = env("ALLOW_TLS12") == "true"
    @Option(help: "Objection period of records opened in bulk, in days.") var objectionPeriodDays: Double = env("OBJECTION_PERIOD_DAYS").flatMap(Double.init) ?? 30
    @Option(help: "Retention of closed records before purge, in days.") var retentionDays: Double = env("RETENTION_DAYS").flatMap(Double.init) ?? 3652
    @Option(help: "Calls in flight per connection before reading pauses.") var maxInFlight: Int = env("MAX_IN_FLIGHT").flatMap(Int.init) ?? 128
    @Option(help: "Maximum open connections.") var maxConnections: Int = env("MAX_CONNECTIONS").flatMap(Int.init) ?? 4096
    @Option(help: "Storage threads (blocking RocksDB work; more = more group commit).") var storageThreads: Int = env("STORAGE_THREADS").flatMap(Int.init) ?? 32
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = env("LOG_LEVEL") ?? "info"
    @Option(help: "Log format: text (human) or json (one object per line, for log shippers).")
    var logFormat: String = env("LOG_FORMAT") ?? "text"
    @Option(help: "Profession × document-class matrix, JSON (docs/ACCESS-MATRIX.md; default: the shipped one).")
    var accessMatrix: String? = env("ACCESS_MATRIX")
    @Option(help: "Ed25519 key signing access-log checkpoints: 64 hex digits (default: <data-dir>/log-signing-key, created if missing).")
    var logSigningKey: String? = env("LOG_SIGNING_KEY")
    @Option(help: "Master key wrapping the records' data keys (encryption at rest): 64 hex digits (default: <data-dir>/master-key, created if missing; development only).")
    var masterKey: String? = env("MASTER_KEY")
    @Option(help: "Directory for online backups (Admin.CreateBackup); none: backups are refused.")
    var backupDir: String? = env("BACKUP_DIR")
    @Option(help: "Address of the Prometheus endpoint (plain HTTP, GET /metrics).") var metricsHost: String = env("METRICS_HOST") ?? "127.0.0.1"
    @Option(help: "Port of the Prometheus endpoint; 0 turns it off.") var metricsPort: Int = env("METRICS_PORT").flatMap(Int.init) ?? 9464
    @Flag(help: "Print the access matrix in force (the file's, or the shipped default) as JSON and exit.")
    var printAccessMatrix = false
    @Option(help: "Largest document content in bytes (uploads).") var maxDocumentBytes: UInt64 = env("MAX_DOCUMENT_BYTES").flatMap(UInt64.init) ?? (128 << 20)

    /// Environment values that do not parse fail like a bad flag would (exit 64), instead of
    /// silently falling back to a default.
    func validate() throws {
        let numeric = [
            "PORT", "OBJECTION_PERIOD_DAYS", "RETENTION_DAYS", "MAX_IN_FLIGHT", "MAX_CONNECTIONS", "STORAGE_THREADS",
            "MAX_DOCUMENT_BYTES", "METRICS_PORT",
        ]
        for name in numeric {
            if let value = env(name), Double(value) == nil {
                throw ValidationError("DOSSIERD_\(name)=\(value) is not a number")
            }
        }
        if let value = env("ALLOW_TLS12"), !["true", "false"].contains(value) {
            throw ValidationError("DOSSIERD_ALLOW_TLS12 must be true or false")
        }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("log format must be text or json") }
        guard (0...65_535).contains(metricsPort) else { throw ValidationError("metrics port must be 0 to 65535") }
        guard (0...65_535).contains(port) else { throw ValidationError("port must be 0 to 65535") }
        guard objectionPeriodDays >= 0, retentionDays >= 0 else { throw ValidationError("periods must not be negative") }
        guard maxInFlight > 0, maxConnections > 0, storageThreads > 0, maxDocumentBytes > 0 else {
            throw ValidationError("limits and thread counts must be positive")
        }
    }

    func run() async throws {
        if printAccessMatrix {
            let file = try accessMatrix.map { try AccessMatrixFile.load(path: $0) } ?? .shippedDefault()
            FileHandle.standardOutput.write(Data(AccessMatrixFile.encode(file.matrix)))
            return
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "dossierd")
        var limits = TransportLimits()
        limits.maxInFlightPerConnection = maxInFlight
        limits.maxConnections = maxConnections
        var configuration = ServerConfiguration(
            transport: ServerTransportConfiguration(
                host: host, port: port,
                tls: TLSFiles(certificateChain: cert, privateKey: key, trustRoots: clientCA),
                allowTLS12: allowTLS12, limits: limits),
            store: StoreConfiguration(path: dataDir, threads: storageThreads),
            policy: RecordPolicy(objectionPeriod: objectionPeriodDays * 86_400, retentionPeriod: retentionDays * 86_400))
        configuration.documents.maxDocumentSize = maxDocumentBytes
        configuration.logSigningKeyPath = logSigningKey
        configuration.backupRoot = backupDir
        if metricsPort != 0 { configuration.metrics = (metricsHost, metricsPort) }
        let server: DossierServer
        do {
            if let accessMatrix {
                configuration.accessMatrix = try AccessMatrixFile.load(path: accessMatrix)
            }
            if let masterKey {
                configuration.store.masterKey = try MasterKey.load(path: masterKey, create: false)
            }
            server = try DossierServer(configuration: configuration, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        do {
            _ = try await server.start()
        } catch {
            logger.critical("cannot start: \(error)")
            await server.shutdown()
            throw ExitCode(2)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

private func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment["DOSSIERD_" + name]
}
