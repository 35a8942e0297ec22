import ArgumentParser
import DossierPostgres
import Foundation

/// Every setting of dossierd, from (highest first) a flag, the environment (`DOSSIERD_<NAME>`),
/// the configuration file (`--config`, JSON, keys as the flags' names), or the default.
/// docs/OPERATIONS.md lists them.
struct ServerOptions: ParsableArguments {
    @Option(help: "Configuration file, JSON (docs/OPERATIONS.md; env DOSSIERD_CONFIG).") var config: String?

    @Option(help: "Address to listen on. [127.0.0.1]") var host: String?
    @Option(parsing: .unconditional, help: "TCP port, 0 to 65535 (0 picks a free one). [7443]") var port: String?
    @Option(help: "RocksDB data directory (created 0700 if missing). [./data]") var dataDir: String?
    @Option(help: "Key store: the records' keys, apart from the data and its backups (created 0700 if missing). [./keystore]")
    var keyStore: String?
    @Option(help: "Server certificate chain, PEM. [certs/dev/server.pem]") var cert: String?
    @Option(help: "Server private key, PEM. [certs/dev/server.key]") var key: String?
    @Option(help: "CA bundle that client certificates must chain to, PEM. [certs/dev/ca.pem]") var clientCA: String?
    @Option(help: "CRL of the client CA, PEM or DER; reloaded on SIGHUP and by Admin.ReloadRevocationList. [none]")
    var crl: String?
    @Flag(help: "Also accept TLS 1.2 (default: TLS 1.3 only).") var allowTLS12 = false
    @Option(parsing: .unconditional, help: "Objection period of records opened in bulk, 0 to 3650 days. [30]") var objectionPeriodDays: String?
    @Option(parsing: .unconditional, help: "Retention of closed records (and their access logs) before purge, 1095 to 36525 days. [3652]") var retentionDays: String?
    @Option(parsing: .unconditional, help: "Calls in flight per connection before reading pauses, 1 to 4096. [128]") var maxInFlight: String?
    @Option(parsing: .unconditional, help: "Maximum open connections, 1 to 1000000. [4096]") var maxConnections: String?
    @Option(parsing: .unconditional, help: "Seconds a client has to complete the TLS handshake, 0.1 to 3600. [10]") var handshakeTimeout: String?
    @Option(parsing: .unconditional, help: "Seconds without a call or a complete frame before a connection is closed, 1 to 604800. [300]")
    var idleTimeout: String?
    @Option(parsing: .unconditional, help: "Seconds calls in flight may take to finish at shutdown, 0 to 3600. [30]") var drainTimeout: String?
    @Option(parsing: .unconditional, help: "Largest ttrpc frame payload in bytes, 4 MiB to 64 MiB (uploads send 1 MiB chunks). [4194304]")
    var maxFrameBytes: String?
    @Option(parsing: .unconditional, help: "Storage threads (blocking RocksDB work; more = more group commit), 1 to 1024. [32]") var storageThreads: String?
    @Option(parsing: .unconditional, help: "RocksDB block cache in MiB, shared by all column families, 8 to 65536. [256]") var blockCacheMb: String?
    @Option(parsing: .unconditional, help: "RocksDB memtables of all column families together in MiB (flushed past it), 16 to 65536. [256]") var memtableMb: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [info]") var logLevel: String?
    @Option(help: "Log format: text (human) or json (one object per line, for log shippers). [text]") var logFormat: String?
    @Option(help: "Profession × document-class matrix, JSON (docs/ACCESS-MATRIX.md). [the shipped one]") var accessMatrix: String?
    @Option(help: "Ed25519 key signing access-log checkpoints, 64 hex digits (never created). [certs/dev/log-signing.key]")
    var logSigningKey: String?
    @Option(help: "Master key wrapping the records' keys, 64 hex digits (never created). [certs/dev/master.key]")
    var masterKey: String?
    @Option(help: "During a rotation: the master key being replaced (docs/OPERATIONS.md, section 14). [none]")
    var previousMasterKey: String?
    @Flag(help: "Accept a data directory, key store or key file that every user may read (refused by default).")
    var allowOpenPermissions = false
    @Option(help: "Directory for online backups (Admin.CreateBackup). [none: backups refused]") var backupDir: String?
    @Option(help: "Directory for key-store backups, taken with each online backup. [none]") var keyStoreBackupDir: String?
    @Option(parsing: .unconditional, help: "Days key-store backups are kept before they are deleted, 0.01 to 3650. [30]")
    var keyStoreBackupRetentionDays: String?
    @Option(help: "Address of the Prometheus endpoint (plain HTTP, GET /metrics). [127.0.0.1]") var metricsHost: String?
    @Option(parsing: .unconditional, help: "Port of the Prometheus endpoint, 0 to 65535; 0 turns it off. [9464]") var metricsPort: String?
    @Option(parsing: .unconditional, help: "Largest document content in bytes (uploads), 1 to 64 GiB. [134217728]") var maxDocumentBytes: String?
    @Option(parsing: .unconditional, help: "Bytes of requests in flight, all connections together, before reading pauses; 16 MiB to 1 TiB. [a 16th of the memory, 64 MiB to 1 GiB]")
    var maxInflightBytes: String?
    @Option(parsing: .unconditional, help: "Seconds a request may wait for room in that budget before RESOURCE_EXHAUSTED, 0.1 to 60. [2]")
    var maxAdmissionWait: String?
    @Option(help: "Where the records live: rocksdb (embedded, in --data-dir) or postgres (--postgres-url). [rocksdb]") var storage: String?
    @Option(help: "PostgreSQL to use with --storage postgres: postgres://USER@HOST:PORT[,HOST2:PORT…]/DB?sslmode=…; the first writable host serves. [none]")
    var postgresUrl: String?
    @Option(help: "File holding PostgreSQL's password (else PGPASSWORD, else none). [none]") var postgresPasswordFile: String?
    @Option(parsing: .unconditional, help: "Connections to PostgreSQL, 1 to 512. [16]") var postgresPoolSize: String?
    @Flag(help: "Apply PostgreSQL schema migrations at start (else `dossierd migrate` must have).") var postgresMigrate = false

    /// The flags given, by setting name.
    var flags: [String: String] {
        let given: [(String, String?)] = [
            ("host", host), ("port", port), ("data-dir", dataDir), ("key-store", keyStore), ("cert", cert), ("key", key), ("client-ca", clientCA),
            ("crl", crl), ("allow-tls12", allowTLS12 ? "true" : nil), ("objection-period-days", objectionPeriodDays),
            ("retention-days", retentionDays), ("max-in-flight", maxInFlight), ("max-connections", maxConnections),
            ("handshake-timeout", handshakeTimeout), ("idle-timeout", idleTimeout), ("drain-timeout", drainTimeout),
            ("max-frame-bytes", maxFrameBytes), ("storage-threads", storageThreads), ("block-cache-mb", blockCacheMb), ("memtable-mb", memtableMb),
            ("log-level", logLevel), ("log-format", logFormat), ("access-matrix", accessMatrix),
            ("log-signing-key", logSigningKey), ("master-key", masterKey), ("previous-master-key", previousMasterKey),
            ("allow-open-permissions", allowOpenPermissions ? "true" : nil), ("backup-dir", backupDir),
            ("key-store-backup-dir", keyStoreBackupDir), ("key-store-backup-retention-days", keyStoreBackupRetentionDays),
            ("metrics-host", metricsHost), ("metrics-port", metricsPort),
            ("max-document-bytes", maxDocumentBytes), ("max-inflight-bytes", maxInflightBytes),
            ("max-admission-wait", maxAdmissionWait), ("storage", storage), ("postgres-url", postgresUrl),
            ("postgres-password-file", postgresPasswordFile), ("postgres-pool-size", postgresPoolSize),
            ("postgres-migrate", postgresMigrate ? "true" : nil),
        ]
        return given.reduce(into: [:]) { flags, entry in if let value = entry.1 { flags[entry.0] = value } }
    }

    /// The settings in force, and where each came from; every invalid value is named at once.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        let configFile = config ?? environment["DOSSIERD_CONFIG"]
        let file = try configFile.map(Self.readFile) ?? [:]
        return try Settings(flags: flags, environment: environment, file: file, configFile: configFile)
    }

    /// The file's settings; unknown keys are refused (a typo must not silently fall back).
    static func readFile(_ path: String) throws -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError(["cannot read the configuration file \(path)"])
        }
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw SettingsError(["the configuration file \(path) is not a JSON object"])
        }
        let unknown = Set(object.keys).subtracting(SettingsCatalog.names)
        guard unknown.isEmpty else {
            throw SettingsError(["the configuration file \(path) has unknown settings: \(unknown.sorted().joined(separator: ", "))"])
        }
        return object
    }
}

/// Settings refused, each with its name and source; dossierd exits 64 on it.
struct SettingsError: Error, CustomStringConvertible {
    let problems: [String]
    init(_ problems: [String]) { self.problems = problems }
    var description: String {
        problems.count == 1 ? problems[0] : "invalid settings: " + problems.joined(separator: "; ")
    }
}

/// The settings in force, each parsed and range-checked by its kind (SettingsCatalog).
struct Settings {
    private(set) var values: [String: SettingValue] = [:]
    /// Where each value came from: `flag`, `environment`, `file` or `default`.
    private(set) var sources: [String: String] = [:]
    let configFile: String?

    init(flags: [String: String], environment: [String: String], file: [String: JSONValue], configFile: String?) throws {
        self.configFile = configFile
        var problems: [String] = []
        // An unknown DOSSIERD_ variable is refused like an unknown file key: a typo
        // (DOSSIERD_MASTERKEY) must not leave the default in force silently.
        for name in environment.keys.sorted() where name.hasPrefix("DOSSIERD_") && !SettingsCatalog.variables.contains(name) {
            problems.append("\(name) (environment) is not a setting of dossierd")
        }
        for setting in SettingsCatalog.all {
            let raw: RawSetting?
            let source: String
            if let flag = flags[setting.name] {
                (raw, source) = (.text(flag), "flag --\(setting.name)")
            } else if let text = environment[setting.variable] {
                (raw, source) = (.text(text), "environment \(setting.variable)")
            } else if let value = file[setting.name] {
                (raw, source) = (.json(value), "file \(configFile ?? "")")
            } else {
                (raw, source) = (nil, "default")
            }
            guard let raw else {
                values[setting.name] = setting.fallback
                sources[setting.name] = source
                continue
            }
            switch setting.kind.parse(raw) {
            case .success(let value):
                values[setting.name] = value
                sources[setting.name] = String(source.prefix { $0 != " " })
            case .failure(let problem):
                problems.append("\(setting.name) (\(source)) \(problem.reason)")
            }
        }
        guard problems.isEmpty else { throw SettingsError(problems) }
    }

    /// What is wrong with the PostgreSQL settings, when the records live there (checked by
    /// `config check`, even with --syntax-only, and before serving).
    var postgresProblem: String? {
        guard storage == "postgres" else { return nil }
        guard let url = postgresURL else { return "postgres-url is needed with storage postgres" }
        do {
            _ = try PostgresSettings(url: url, poolSize: postgresPoolSize)
            return nil
        } catch {
            return "postgres-url (\(sources["postgres-url"] ?? "")) \(error)"
        }
    }

    /// The PostgreSQL settings in force, with the password from its file or PGPASSWORD (never
    /// from a flag: it would show in the process list).
    func postgresSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresSettings {
        guard let url = postgresURL else { throw SettingsError(["postgres-url is needed with storage postgres"]) }
        var password = environment["PGPASSWORD"]
        if let file = postgresPasswordFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw SettingsError(["postgres-password-file: cannot read \(file)"])
            }
            password = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        do {
            return try PostgresSettings(url: url, password: password, poolSize: postgresPoolSize)
        } catch {
            throw SettingsError(["postgres-url: \(error)"])
        }
    }

    private func text(_ name: String) -> String {
        if case .text(let text) = values[name] { return text }
        preconditionFailure("\(name) is not text")
    }
    private func optional(_ name: String) -> String? {
        if case .text(let text) = values[name] { return text }
        return nil
    }
    private func integer(_ name: String) -> Int {
        if case .integer(let value) = values[name] { return value }
        preconditionFailure("\(name) is not an integer")
    }
    private func number(_ name: String) -> Double {
        if case .number(let value) = values[name] { return value }
        preconditionFailure("\(name) is not a number")
    }

    var host: String { text("host") }
    var port: Int { integer("port") }
    var dataDir: String { text("data-dir") }
    var keyStore: String { text("key-store") }
    var cert: String { text("cert") }
    var key: String { text("key") }
    var clientCA: String { text("client-ca") }
    var crl: String? { optional("crl") }
    var allowTLS12: Bool { values["allow-tls12"] == .boolean(true) }
    var objectionPeriodDays: Double { number("objection-period-days") }
    var retentionDays: Double { number("retention-days") }
    var maxInFlight: Int { integer("max-in-flight") }
    var maxConnections: Int { integer("max-connections") }
    var storageThreads: Int { integer("storage-threads") }
    var blockCacheMB: Int { integer("block-cache-mb") }
    var memtableMB: Int { integer("memtable-mb") }
    var handshakeTimeout: Double { number("handshake-timeout") }
    var idleTimeout: Double { number("idle-timeout") }
    var drainTimeout: Double { number("drain-timeout") }
    var maxFrameBytes: Int { integer("max-frame-bytes") }
    var logLevel: String { text("log-level") }
    var logFormat: String { text("log-format") }
    var accessMatrix: String? { optional("access-matrix") }
    var logSigningKey: String { text("log-signing-key") }
    var masterKey: String { text("master-key") }
    var previousMasterKey: String? { optional("previous-master-key") }
    var allowOpenPermissions: Bool { values["allow-open-permissions"] == .boolean(true) }
    var backupDir: String? { optional("backup-dir") }
    var keyStoreBackupDir: String? { optional("key-store-backup-dir") }
    var keyStoreBackupRetentionDays: Double { number("key-store-backup-retention-days") }
    var metricsHost: String { text("metrics-host") }
    var metricsPort: Int { integer("metrics-port") }
    var maxDocumentBytes: UInt64 { UInt64(integer("max-document-bytes")) }
    var maxInflightBytes: Int { integer("max-inflight-bytes") }
    var maxAdmissionWait: Double { number("max-admission-wait") }
    var storage: String { text("storage") }
    var postgresURL: String? { optional("postgres-url") }
    var postgresPasswordFile: String? { optional("postgres-password-file") }
    var postgresPoolSize: Int { integer("postgres-pool-size") }
    var postgresMigrate: Bool { values["postgres-migrate"] == .boolean(true) }

    /// Name, value and source of every setting, for `dossierd config check`.
    var table: [(String, String, String)] {
        SettingsCatalog.all.map { setting in
            var shown = values[setting.name]?.description ?? "?"
            if setting.name == "postgres-url", let url = postgresURL {
                shown = (try? PostgresSettings(url: url).redacted) ?? "(not a PostgreSQL URL)"
            }
            if values[setting.name] == SettingValue.none, setting.name == "access-matrix" { shown = "(shipped)" }
            return (setting.name, shown, sources[setting.name] ?? "default")
        }
    }
}
