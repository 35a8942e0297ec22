import Foundation

/// One setting of dossierd: its name (the flag `--NAME`, the file key `NAME`, the variable
/// `DOSSIERD_NAME` in upper case with `_`), what it holds and its default.
struct Setting {
    let name: String
    let kind: SettingKind
    let fallback: SettingValue

    var variable: String { "DOSSIERD_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }
}

/// Every setting, in one table: the parser, the range checks, `config check`'s report and the
/// test over every setting all read it. docs/OPERATIONS.md, section 3, lists the same settings
/// (a test keeps the two in step).
enum SettingsCatalog {
    static let mebibyte = 1 << 20

    static let all: [Setting] = [
        Setting(name: "host", kind: .text, fallback: .text("127.0.0.1")),
        Setting(name: "port", kind: .integer(0...65_535, unit: ""), fallback: .integer(7443)),
        Setting(name: "data-dir", kind: .path, fallback: .text("./data")),
        Setting(name: "key-store", kind: .path, fallback: .text("./keystore")),
        Setting(name: "cert", kind: .path, fallback: .text("certs/dev/server.pem")),
        Setting(name: "key", kind: .path, fallback: .text("certs/dev/server.key")),
        Setting(name: "client-ca", kind: .path, fallback: .text("certs/dev/ca.pem")),
        Setting(name: "crl", kind: .optionalPath, fallback: .none),
        Setting(name: "allow-tls12", kind: .boolean, fallback: .boolean(false)),
        // Ten years of objection period or a century of retention are already absurd; the
        // bounds keep days × 86,400 seconds far inside every type the server converts them to.
        Setting(name: "objection-period-days", kind: .number(0...3_650, unit: "days"), fallback: .number(30)),
        // The purge deletes the access log with the record: at least 3 years (EHDS Art. 9(2)).
        Setting(name: "retention-days", kind: .number(1_095...36_525, unit: "days"), fallback: .number(3_652)),
        Setting(name: "max-in-flight", kind: .integer(1...4_096, unit: "calls"), fallback: .integer(128)),
        Setting(name: "max-connections", kind: .integer(1...1_000_000, unit: "connections"), fallback: .integer(4_096)),
        Setting(name: "storage-threads", kind: .integer(1...1_024, unit: "threads"), fallback: .integer(32)),
        Setting(name: "block-cache-mb", kind: .integer(8...65_536, unit: "MiB"), fallback: .integer(256)),
        Setting(name: "memtable-mb", kind: .integer(16...65_536, unit: "MiB"), fallback: .integer(256)),
        Setting(name: "handshake-timeout", kind: .number(0.1...3_600, unit: "seconds"), fallback: .number(10)),
        Setting(name: "idle-timeout", kind: .number(1...604_800, unit: "seconds"), fallback: .number(300)),
        Setting(name: "drain-timeout", kind: .number(0...3_600, unit: "seconds"), fallback: .number(30)),
        // Uploads send 1 MiB chunks and deposits carry up to 3 MiB: below 4 MiB they would fail.
        Setting(name: "max-frame-bytes", kind: .integer((4 * mebibyte)...(64 * mebibyte), unit: "bytes"), fallback: .integer(4 * mebibyte)),
        Setting(
            name: "log-level", kind: .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
            fallback: .text("info")),
        Setting(name: "log-format", kind: .choice(["text", "json"]), fallback: .text("text")),
        Setting(name: "access-matrix", kind: .optionalPath, fallback: .none),
        Setting(name: "log-signing-key", kind: .path, fallback: .text("certs/dev/log-signing.key")),
        Setting(name: "master-key", kind: .path, fallback: .text("certs/dev/master.key")),
        Setting(name: "previous-master-key", kind: .optionalPath, fallback: .none),
        Setting(name: "allow-open-permissions", kind: .boolean, fallback: .boolean(false)),
        Setting(name: "backup-dir", kind: .optionalPath, fallback: .none),
        Setting(name: "key-store-backup-dir", kind: .optionalPath, fallback: .none),
        Setting(name: "key-store-backup-retention-days", kind: .number(0.01...3_650, unit: "days"), fallback: .number(30)),
        Setting(name: "metrics-host", kind: .text, fallback: .text("127.0.0.1")),
        Setting(name: "metrics-port", kind: .integer(0...65_535, unit: ""), fallback: .integer(9_464)),
        Setting(name: "max-document-bytes", kind: .integer(1...(64 << 30), unit: "bytes"), fallback: .integer(128 * mebibyte)),
        Setting(name: "max-inflight-bytes", kind: .integer((16 * mebibyte)...(1 << 40), unit: "bytes"), fallback: .integer(defaultInflightBytes)),
        Setting(name: "max-admission-wait", kind: .number(0.1...60, unit: "seconds"), fallback: .number(2)),
        // Where the records live (decision 0009): the embedded RocksDB, or PostgreSQL.
        Setting(name: "storage", kind: .choice(["rocksdb", "postgres"]), fallback: .text("rocksdb")),
        Setting(name: "postgres-url", kind: .optionalText, fallback: .none),
        Setting(name: "postgres-password-file", kind: .optionalPath, fallback: .none),
        Setting(name: "postgres-pool-size", kind: .integer(1...512, unit: "connections"), fallback: .integer(16)),
        Setting(name: "postgres-migrate", kind: .boolean, fallback: .boolean(false)),
    ]

    /// A sixteenth of the machine's memory, 64 MiB to 1 GiB.
    static var defaultInflightBytes: Int {
        min(max(Int(ProcessInfo.processInfo.physicalMemory / 16), 64 * mebibyte), 1 << 30)
    }

    static let names: Set<String> = Set(all.map(\.name))
    static let variables: Set<String> = Set(all.map(\.variable) + ["DOSSIERD_CONFIG"])

    static func setting(_ name: String) -> Setting {
        guard let setting = all.first(where: { $0.name == name }) else { preconditionFailure("no setting \(name)") }
        return setting
    }
}
