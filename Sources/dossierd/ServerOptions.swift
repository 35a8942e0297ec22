import ArgumentParser
import Foundation

/// Every setting of dossierd, from (highest first) a flag, the environment (`DOSSIERD_<NAME>`),
/// the configuration file (`--config`, JSON, keys as the flags' names), or the default.
/// docs/OPERATIONS.md lists them.
struct ServerOptions: ParsableArguments {
    @Option(help: "Configuration file, JSON (docs/OPERATIONS.md; env DOSSIERD_CONFIG).") var config: String?

    @Option(help: "Address to listen on. [127.0.0.1]") var host: String?
    @Option(help: "TCP port (0 picks a free one). [7443]") var port: Int?
    @Option(help: "RocksDB data directory (created if missing). [./data]") var dataDir: String?
    @Option(help: "Server certificate chain, PEM. [certs/dev/server.pem]") var cert: String?
    @Option(help: "Server private key, PEM. [certs/dev/server.key]") var key: String?
    @Option(help: "CA bundle that client certificates must chain to, PEM. [certs/dev/ca.pem]") var clientCA: String?
    @Option(help: "CRL of the client CA, PEM or DER; reloaded on SIGHUP and by Admin.ReloadRevocationList. [none]")
    var crl: String?
    @Flag(help: "Also accept TLS 1.2 (default: TLS 1.3 only).") var allowTLS12 = false
    @Option(help: "Objection period of records opened in bulk, in days. [30]") var objectionPeriodDays: Double?
    @Option(help: "Retention of closed records before purge, in days. [3652]") var retentionDays: Double?
    @Option(help: "Calls in flight per connection before reading pauses. [128]") var maxInFlight: Int?
    @Option(help: "Maximum open connections. [4096]") var maxConnections: Int?
    @Option(help: "Seconds a client has to complete the TLS handshake. [10]") var handshakeTimeout: Double?
    @Option(help: "Seconds without a call or a complete frame before a connection is closed. [300]") var idleTimeout: Double?
    @Option(help: "Seconds calls in flight may take to finish at shutdown. [30]") var drainTimeout: Double?
    @Option(help: "Largest ttrpc frame payload in bytes (at least 4 MiB: uploads send 1 MiB chunks). [4194304]") var maxFrameBytes: Int?
    @Option(help: "Storage threads (blocking RocksDB work; more = more group commit). [32]") var storageThreads: Int?
    @Option(help: "RocksDB block cache in MiB, shared by all column families. [256]") var blockCacheMb: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [info]") var logLevel: String?
    @Option(help: "Log format: text (human) or json (one object per line, for log shippers). [text]") var logFormat: String?
    @Option(help: "Profession × document-class matrix, JSON (docs/ACCESS-MATRIX.md). [the shipped one]") var accessMatrix: String?
    @Option(help: "Ed25519 key signing access-log checkpoints, 64 hex digits. [<data-dir>/log-signing-key, created if missing]")
    var logSigningKey: String?
    @Option(help: "Master key wrapping the records' data keys, 64 hex digits. [<data-dir>/master-key, created if missing: development only]")
    var masterKey: String?
    @Option(help: "During a rotation: the master key being replaced (docs/OPERATIONS.md, section 14). [none]")
    var previousMasterKey: String?
    @Option(help: "Directory for online backups (Admin.CreateBackup). [none: backups refused]") var backupDir: String?
    @Option(help: "Address of the Prometheus endpoint (plain HTTP, GET /metrics). [127.0.0.1]") var metricsHost: String?
    @Option(help: "Port of the Prometheus endpoint; 0 turns it off. [9464]") var metricsPort: Int?
    @Option(help: "Largest document content in bytes (uploads). [134217728]") var maxDocumentBytes: UInt64?

    /// The settings in force, and where each came from.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        let env = { (name: String) in environment["DOSSIERD_" + name] }
        let file = try (config ?? env("CONFIG")).map(Self.readFile) ?? [:]
        var sources: [String: String] = [:]
        func pick<T>(_ name: String, _ flag: T?, _ parse: (String) -> T?, _ fromFile: (Any) -> T?, _ fallback: T) throws -> T {
            let variable = name.uppercased().replacingOccurrences(of: "-", with: "_")
            if let flag {
                sources[name] = "flag"
                return flag
            }
            if let text = env(variable) {
                guard let value = parse(text) else { throw ValidationError("DOSSIERD_\(variable)=\(text) is not a valid value") }
                sources[name] = "environment"
                return value
            }
            if let raw = file[name] {
                guard let value = fromFile(raw) else { throw ValidationError("configuration file: \(name) has an invalid value") }
                sources[name] = "file"
                return value
            }
            sources[name] = "default"
            return fallback
        }
        func string(_ name: String, _ flag: String?, _ fallback: String) throws -> String {
            try pick(name, flag, { $0 }, { $0 as? String }, fallback)
        }
        func optional(_ name: String, _ flag: String?) throws -> String? {
            let value = try pick(name, flag, { $0 }, { $0 as? String }, "")
            return value.isEmpty ? nil : value
        }
        func int(_ name: String, _ flag: Int?, _ fallback: Int) throws -> Int {
            try pick(name, flag, { Int($0) }, { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }, fallback)
        }
        func double(_ name: String, _ flag: Double?, _ fallback: Double) throws -> Double {
            try pick(name, flag, { Double($0) }, { ($0 as? NSNumber)?.doubleValue }, fallback)
        }
        var settings = Settings()
        settings.host = try string("host", host, "127.0.0.1")
        settings.port = try int("port", port, 7443)
        settings.dataDir = try string("data-dir", dataDir, "./data")
        settings.cert = try string("cert", cert, "certs/dev/server.pem")
        settings.key = try string("key", key, "certs/dev/server.key")
        settings.clientCA = try string("client-ca", clientCA, "certs/dev/ca.pem")
        settings.crl = try optional("crl", crl)
        settings.allowTLS12 = try pick(
            "allow-tls12", allowTLS12 ? true : nil, { ["true": true, "false": false][$0] }, { $0 as? Bool }, false)
        settings.objectionPeriodDays = try double("objection-period-days", objectionPeriodDays, 30)
        settings.retentionDays = try double("retention-days", retentionDays, 3652)
        settings.maxInFlight = try int("max-in-flight", maxInFlight, 128)
        settings.maxConnections = try int("max-connections", maxConnections, 4096)
        settings.storageThreads = try int("storage-threads", storageThreads, 32)
        settings.blockCacheMB = try int("block-cache-mb", blockCacheMb, 256)
        settings.handshakeTimeout = try double("handshake-timeout", handshakeTimeout, 10)
        settings.idleTimeout = try double("idle-timeout", idleTimeout, 300)
        settings.drainTimeout = try double("drain-timeout", drainTimeout, 30)
        settings.maxFrameBytes = try int("max-frame-bytes", maxFrameBytes, 4 << 20)
        settings.logLevel = try string("log-level", logLevel, "info")
        settings.logFormat = try string("log-format", logFormat, "text")
        settings.accessMatrix = try optional("access-matrix", accessMatrix)
        settings.logSigningKey = try optional("log-signing-key", logSigningKey)
        settings.masterKey = try optional("master-key", masterKey)
        settings.previousMasterKey = try optional("previous-master-key", previousMasterKey)
        settings.backupDir = try optional("backup-dir", backupDir)
        settings.metricsHost = try string("metrics-host", metricsHost, "127.0.0.1")
        settings.metricsPort = try int("metrics-port", metricsPort, 9464)
        settings.maxDocumentBytes = UInt64(try int("max-document-bytes", maxDocumentBytes.map { Int($0) }, 128 << 20))
        settings.sources = sources
        settings.configFile = config ?? env("CONFIG")
        try settings.check()
        return settings
    }

    /// The file's settings; unknown keys are refused (a typo must not silently fall back).
    static func readFile(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the configuration file \(path)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("the configuration file \(path) is not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(Settings.names)
        guard unknown.isEmpty else {
            throw ValidationError("the configuration file \(path) has unknown settings: \(unknown.sorted().joined(separator: ", "))")
        }
        return object
    }
}

/// The settings in force.
struct Settings {
    static let names: Set<String> = [
        "host", "port", "data-dir", "cert", "key", "client-ca", "crl", "allow-tls12", "objection-period-days", "retention-days",
        "max-in-flight", "max-connections", "storage-threads", "block-cache-mb", "handshake-timeout", "idle-timeout", "drain-timeout",
        "max-frame-bytes", "log-level", "log-format", "access-matrix", "log-signing-key",
        "master-key", "previous-master-key", "backup-dir", "metrics-host", "metrics-port", "max-document-bytes",
    ]

    var host = "", port = 0, dataDir = "", cert = "", key = "", clientCA = "", crl: String?, allowTLS12 = false
    var objectionPeriodDays = 0.0, retentionDays = 0.0, maxInFlight = 0, maxConnections = 0, storageThreads = 0, blockCacheMB = 0
    var handshakeTimeout = 0.0, idleTimeout = 0.0, drainTimeout = 0.0, maxFrameBytes = 0
    var logLevel = "", logFormat = ""
    var accessMatrix: String?, logSigningKey: String?, masterKey: String?, previousMasterKey: String?, backupDir: String?
    var metricsHost = "", metricsPort = 0, maxDocumentBytes: UInt64 = 0
    var sources: [String: String] = [:]
    var configFile: String?

    func check() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("port must be 0 to 65535") }
        guard (0...65_535).contains(metricsPort) else { throw ValidationError("metrics port must be 0 to 65535") }
        guard objectionPeriodDays >= 0, retentionDays >= 0 else { throw ValidationError("periods must not be negative") }
        guard maxInFlight > 0, maxConnections > 0, storageThreads > 0, maxDocumentBytes > 0 else {
            throw ValidationError("limits and thread counts must be positive")
        }
        guard (8...65_536).contains(blockCacheMB) else { throw ValidationError("block-cache-mb must be 8 to 65536") }
        guard handshakeTimeout > 0, idleTimeout > 0, drainTimeout >= 0 else { throw ValidationError("timeouts must be positive") }
        guard maxFrameBytes >= 4 << 20, maxFrameBytes <= 64 << 20 else {
            throw ValidationError("max-frame-bytes must be 4 MiB to 64 MiB (uploads send 1 MiB chunks; deposits up to 3 MiB)")
        }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("log format must be text or json") }
    }

    /// Name, value and source of every setting, for `dossierd config check`.
    var table: [(String, String, String)] {
        let values: [(String, String)] = [
            ("host", host), ("port", "\(port)"), ("data-dir", dataDir), ("cert", cert), ("key", key), ("client-ca", clientCA),
            ("crl", crl ?? "(none)"), ("allow-tls12", "\(allowTLS12)"), ("objection-period-days", "\(objectionPeriodDays)"),
            ("retention-days", "\(retentionDays)"), ("max-in-flight", "\(maxInFlight)"), ("max-connections", "\(maxConnections)"),
            ("storage-threads", "\(storageThreads)"), ("block-cache-mb", "\(blockCacheMB)"), ("handshake-timeout", "\(handshakeTimeout)"),
            ("idle-timeout", "\(idleTimeout)"), ("drain-timeout", "\(drainTimeout)"), ("max-frame-bytes", "\(maxFrameBytes)"), ("log-level", logLevel), ("log-format", logFormat),
            ("access-matrix", accessMatrix ?? "(shipped)"), ("log-signing-key", logSigningKey ?? "(<data-dir>/log-signing-key)"),
            ("master-key", masterKey ?? "(<data-dir>/master-key)"), ("previous-master-key", previousMasterKey ?? "(none)"),
            ("backup-dir", backupDir ?? "(none)"),
            ("metrics-host", metricsHost), ("metrics-port", "\(metricsPort)"), ("max-document-bytes", "\(maxDocumentBytes)"),
        ]
        return values.map { ($0.0, $0.1, sources[$0.0] ?? "default") }
    }
}
