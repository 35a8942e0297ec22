import ArgumentParser
import DossierCLI
import DossierCore
import DossierPostgres
import DossierServer
import DossierStore
import DossierTransport
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

@main
struct Dossierd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossierd",
        abstract: "The Dossier shared-care-record server (ttrpc over mutual TLS, embedded RocksDB or PostgreSQL).",
        discussion: """
            Every setting comes from a flag, else the environment (DOSSIERD_<NAME>, e.g. DOSSIERD_PORT), \
            else the configuration file (--config, JSON, keys as the flags' names, e.g. "data-dir"), \
            else its default (in brackets). `dossierd config check` validates without starting.
            """,
        subcommands: [Serve.self, ConfigCommand.self, Migrate.self, MoveToPostgres.self], defaultSubcommand: Serve.self)

    /// ArgumentParser's main, except that invoked as `dossier` it is the CLI, that with `--log-format json` (from any source) every
    /// line dossierd writes is JSON, start-up errors and crash reports included, and that
    /// refused settings exit 64 with every problem named.
    static func main() async {
        // One binary in the container image: invoked through the `dossier` link, it is the CLI.
        if CommandLine.arguments.first.map({ URL(fileURLWithPath: $0).lastPathComponent }) == "dossier" {
            await DossierCLI.main()
            return
        }
        let json = StartupLog.wantsJSON(arguments: CommandLine.arguments, environment: ProcessInfo.processInfo.environment)
        if json { StartupLog.useJSONCrashReports() }
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as SettingsError {
            StartupLog.critical(error.problems, json: json)
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            let code = exitCode(for: error)
            guard json, code != .success else { exit(withError: error) }
            let message = message(for: error)
            if !message.isEmpty { StartupLog.critical([message], json: true) }
            Foundation.exit(code.rawValue)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (the default).")

    @OptionGroup var options: ServerOptions
    @Flag(help: "Print the access matrix in force (the file's, or the shipped default) as JSON and exit.")
    var printAccessMatrix = false

    func run() async throws {
        let settings = try options.resolve()
        if printAccessMatrix {
            let file = try settings.accessMatrix.map { try AccessMatrixFile.load(path: $0) } ?? .shippedDefault()
            FileHandle.standardOutput.write(Data(AccessMatrixFile.encode(file.matrix)))
            return
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let json = settings.logFormat == "json"
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
        let server: DossierServer
        do {
            server = try DossierServer(configuration: try settings.serverConfiguration(), logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        // What libraries emit through swift-metrics goes to the same endpoint as the server's own series.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: server.metricsRegistry))
        do {
            _ = try await server.start()
        } catch {
            logger.critical("cannot start: \(error)")
            await server.shutdown()
            throw ExitCode(2)
        }
        // SIGHUP reloads the CRL (the one in force stays if the new one is invalid).
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP)
        hangup.setEventHandler { server.reloadRevocationList() }
        hangup.resume()
        defer { hangup.cancel() }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration tools.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration (flags, environment, file) without starting; print the settings in force.",
            discussion: "Exit 0 when valid. Files the settings name (certificates, keys, matrix) are checked too; with --syntax-only, only the values.")
        @OptionGroup var options: ServerOptions
        @Flag(help: "Check the values only, not the files they name (e.g. on a build machine).") var syntaxOnly = false

        func run() async throws {
            let settings = try options.resolve()
            var problems = settings.postgresProblem.map { [$0] } ?? []
            var report: [String] = []
            if !syntaxOnly, problems.isEmpty {
                problems = settings.fileProblems()
                if settings.storage == "postgres" {
                    // Reaches the primary and reads what matters for durability (no data).
                    do {
                        let engine = try PostgresEngine(settings: try settings.postgresSettings(), migrate: false)
                        defer { engine.close() }
                        report = try engine.check().split(separator: "\n").map(String.init)
                    } catch {
                        problems.append("postgres: \(error)")
                    }
                }
            }
            Swift.print("configuration" + (settings.configFile.map { " (file \($0))" } ?? ""))
            let width = settings.table.map(\.0.count).max() ?? 0
            for (name, value, source) in settings.table {
                Swift.print("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(value)  [\(source)]")
            }
            if !report.isEmpty {
                Swift.print("postgres")
                for line in report { Swift.print("  " + line) }
            }
            if problems.isEmpty {
                Swift.print("OK")
            } else {
                for problem in problems { Swift.print("error: \(problem)") }
                throw ExitCode(1)
            }
        }
    }
}

/// Applies PostgreSQL schema migrations (decision 0009), then exits: the step before starting a
/// new version without `--postgres-migrate`.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the PostgreSQL schema's migrations (with --storage postgres) and exit.",
        discussion: "Exit 0 when the schema is at the version this dossierd needs; safe to run again.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let settings = try options.resolve()
        guard settings.storage == "postgres" else {
            throw SettingsError(["storage is rocksdb: the embedded store needs no migration (set storage to postgres)"])
        }
        let postgres = try settings.postgresSettings()
        do {
            let (from, to) = try PostgresEngine.migrate(settings: postgres)
            Swift.print(from == to ? "schema \(postgres.schema) at version \(to): nothing to do" : "schema \(postgres.schema) migrated from version \(from) to \(to)")
        } catch {
            Swift.print("error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Moves an embedded deployment to PostgreSQL (docs/OPERATIONS.md, section 16): every row as it
/// is (sealed), checked family by family, then every record's access log verified on PostgreSQL
/// through the same key store.
struct MoveToPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "move-to-postgres",
        abstract: "Copy the embedded store (--data-dir, server stopped) into PostgreSQL (--postgres-url), verify it, and exit.",
        discussion: "Then start dossierd with --storage postgres, the same --key-store and --master-key. Exit 0 when every row and every log verified.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let settings = try options.resolve()
        let postgres = try settings.postgresSettings()
        let masterKey = try MasterKey.load(path: settings.masterKey, allowOpenPermissions: settings.allowOpenPermissions)
        do {
            _ = try PostgresEngine.migrate(settings: postgres)
            let target = try PostgresEngine(settings: postgres)
            let report: StoreCopyReport
            do {
                report = try DossierStore.copyEmbeddedData(fromDataDirectory: settings.dataDir, to: target) { family, rows in
                    FileHandle.standardError.write(Data("\r\(family.rawValue): \(rows) rows".utf8))
                }
                FileHandle.standardError.write(Data("\n".utf8))
            } catch {
                target.close()
                throw error
            }
            target.close()
            var store = StoreConfiguration(
                path: settings.dataDir, keyStorePath: settings.keyStore, masterKey: masterKey, threads: 4, blockCacheBytes: 8 << 20)
            store.allowOpenPermissions = settings.allowOpenPermissions
            store.engine = { try PostgresEngine(settings: postgres) }
            let moved = try DossierStore(configuration: store)
            defer { moved.close() }
            let (records, entries) = try await moved.verifyEveryChain()
            let rows = StoreFamily.allCases.map { "\($0.rawValue) \(report.rows[$0] ?? 0)" }.joined(separator: ", ")
            Swift.print("copied \(report.bytes) bytes (\(rows)); every family identical; \(records) records' logs verified (\(entries) entries)")
        } catch {
            Swift.print("error: \(error)")
            throw ExitCode(1)
        }
    }
}

extension Settings {
    /// The server's configuration, loading the files the settings name.
    func serverConfiguration() throws -> ServerConfiguration {
        if let problem = postgresProblem { throw SettingsError([problem]) }
        var limits = TransportLimits()
        limits.maxInFlightPerConnection = maxInFlight
        limits.maxConnections = maxConnections
        limits.handshakeTimeout = .milliseconds(Int64(handshakeTimeout * 1_000))
        limits.idleTimeout = .milliseconds(Int64(idleTimeout * 1_000))
        limits.drainTimeout = .milliseconds(Int64(drainTimeout * 1_000))
        limits.maxPayloadLength = maxFrameBytes
        limits.maxInflightBytes = maxInflightBytes
        limits.maxAdmissionWait = .milliseconds(Int64(maxAdmissionWait * 1_000))
        var store = StoreConfiguration(
            path: dataDir, keyStorePath: keyStore,
            masterKey: try MasterKey.load(path: masterKey, allowOpenPermissions: allowOpenPermissions),
            threads: storageThreads, blockCacheBytes: blockCacheMB << 20)
        store.allowOpenPermissions = allowOpenPermissions
        store.memtableBytes = memtableMB << 20
        if storage == "postgres" {
            let postgres = try postgresSettings()
            let migrate = postgresMigrate
            // One server per schema (the writer lock); config check and the move open none.
            store.engine = { try PostgresEngine(settings: postgres, migrate: migrate, exclusive: true) }
        }
        if let previousMasterKey {
            store.previousMasterKey = try MasterKey.load(path: previousMasterKey, allowOpenPermissions: allowOpenPermissions)
        }
        var configuration = ServerConfiguration(
            transport: ServerTransportConfiguration(
                host: host, port: port, tls: TLSFiles(certificateChain: cert, privateKey: key, trustRoots: clientCA),
                allowTLS12: allowTLS12, limits: limits),
            store: store,
            policy: RecordPolicy(objectionPeriod: objectionPeriodDays * 86_400, retentionPeriod: retentionDays * 86_400))
        configuration.documents.maxDocumentSize = maxDocumentBytes
        configuration.logSigningKeyPath = logSigningKey
        configuration.backupRoot = backupDir
        configuration.keyStoreBackupRoot = keyStoreBackupDir
        configuration.keyStoreBackupRetention = .milliseconds(Int64(keyStoreBackupRetentionDays * 86_400_000))
        configuration.crlPath = crl
        if metricsPort != 0 { configuration.metrics = (metricsHost, metricsPort) }
        if let accessMatrix { configuration.accessMatrix = try AccessMatrixFile.load(path: accessMatrix) }
        return configuration
    }

    /// What would stop the server at start-up, file by file (without opening the database).
    func fileProblems() -> [String] {
        var problems: [String] = []
        for (what, path) in [("cert", cert), ("key", key), ("client-ca", clientCA), ("crl", crl ?? clientCA)]
        where !FileManager.default.isReadableFile(atPath: path) {
            problems.append("\(what): \(path) is missing or unreadable")
        }
        if let accessMatrix {
            do { _ = try AccessMatrixFile.load(path: accessMatrix) } catch { problems.append("access-matrix: \(error)") }
        }
        do { _ = try MasterKey.load(path: masterKey, allowOpenPermissions: allowOpenPermissions) } catch {
            problems.append("master-key: \(error)")
        }
        if let previousMasterKey {
            do { _ = try MasterKey.load(path: previousMasterKey, allowOpenPermissions: allowOpenPermissions) } catch {
                problems.append("previous-master-key: \(error)")
            }
        }
        do { _ = try LogSigningKeys.load(path: logSigningKey, allowOpenPermissions: allowOpenPermissions) } catch {
            problems.append("log-signing-key: \(error)")
        }
        for (what, path) in [("data-dir", dataDir), ("key-store", keyStore)] {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if !FileManager.default.fileExists(atPath: parent) {
                problems.append("\(what): the parent directory \(parent) does not exist")
            }
        }
        if URL(fileURLWithPath: keyStore).standardizedFileURL == URL(fileURLWithPath: dataDir).standardizedFileURL {
            problems.append("key-store: must not be the data directory (the keys must stay out of the data's backups)")
        }
        return problems
    }
}
