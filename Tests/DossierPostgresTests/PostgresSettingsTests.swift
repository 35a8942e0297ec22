import DossierStore
import Testing

@testable import DossierPostgres

/// Settings parsing needs no server.
@Suite struct PostgresSettingsTests {
    @Test func aFullURL() throws {
        let settings = try PostgresSettings(
            url: "postgres://dossier:s3cret@db1.example:5432,[::1]:5433,db3/records?sslmode=verify-full&sslrootcert=/etc/ca.pem&schema=prod_1&connect_timeout=3")
        #expect(settings.hosts == [.init(name: "db1.example", port: 5432), .init(name: "::1", port: 5433), .init(name: "db3", port: 5432)])
        #expect(settings.username == "dossier")
        #expect(settings.password == "s3cret")
        #expect(settings.database == "records")
        #expect(settings.tlsMode == .verifyFull)
        #expect(settings.rootCertificatePath == "/etc/ca.pem")
        #expect(settings.schema == "prod_1")
        #expect(settings.connectTimeout == .seconds(3))
        #expect(settings.statementTimeout == PostgresSettings.defaultStatementTimeout)
        #expect(try PostgresSettings(url: "postgres://u@h/db?statement_timeout=7").statementTimeout == .seconds(7))
        #expect(try PostgresSettings(url: "postgres://u@h/db?statement_timeout=7").redacted.hasSuffix("&statement_timeout=7"))
        #expect(settings.poolSize == 16)
        #expect(!settings.redacted.contains("s3cret"))
        #expect(!"\(settings)".contains("s3cret"))
        #expect(settings.redacted == "postgres://dossier@db1.example:5432,[::1]:5433,db3:5432/records?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&schema=prod_1&connect_timeout=3")
    }

    @Test func defaultsAndOverrides() throws {
        let settings = try PostgresSettings(url: "postgresql://u%40x:p%3Aw@h/db", password: "from-file", poolSize: 512, schema: "other")
        #expect(settings.username == "u@x")
        #expect(settings.password == "from-file")
        #expect(settings.tlsMode == .require)
        #expect(settings.schema == "other")
        #expect(settings.poolSize == 512)
        #expect(settings.connectTimeout == .seconds(10))
        let plain = try PostgresSettings(url: "postgres://u@h/db")
        #expect(plain.password == nil)
        #expect(plain.schema == "dossier")
    }

    @Test(arguments: [
        ("", "must start with postgres://"),
        ("mysql://u@h/db", "must start with postgres://"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h/", "names no database"),
        ("postgres://h/db", "names no user"),
        ("postgres://@h/db", "names no user"),
        ("postgres://u@/db", "empty host name"),
        ("postgres://u@h1,,h2/db", "empty host name"),
        ("postgres://u@h:0/db", "port"),
        ("postgres://u@h:65536/db", "port"),
        ("postgres://u@h:99999999999999999999999/db", "port"),
        ("postgres://u@h:-1/db", "port"),
        ("postgres://u@h:abc/db", "port"),
        ("postgres://u@[::1/db", "unclosed ["),
        ("postgres://u@h/db?sslmode=prefer", "sslmode must be one of"),
        ("postgres://u@h/db?sslmode", "has no value"),
        ("postgres://u@h/db?sslmode=disable&sslmode=require", "twice"),
        ("postgres://u@h/db?pool=3", "not supported"),
        ("postgres://u@h/db?sslmode=disable&sslrootcert=/x", "only applies to sslmode=verify-full"),
        ("postgres://u@h/db?connect_timeout=0", "connect_timeout"),
        ("postgres://u@h/db?connect_timeout=1e9", "connect_timeout"),
        ("postgres://u@h/db?statement_timeout=0", "statement_timeout"),
        ("postgres://u@h/db?statement_timeout=inf", "statement_timeout"),
        ("postgres://u@h/db?statement_timeout=3601", "statement_timeout"),
        ("postgres://u@h/db?schema=Robert'); DROP TABLE x;--", "spaces or control"),
        ("postgres://u@h/db?schema=a%22b", "schema must be"),
        ("postgres://u@h/db?schema=9lives", "schema must be"),
        ("postgres://u@h/db?schema=pg_catalog", "reserved"),
        ("postgres://u%ZZ@h/db", "bad %-escape"),
        ("postgres://u%0A@h/db", "control characters"),
        ("postgres://u@h/db\tx", "spaces or control characters"),
        ("postgres://u:secret-password@h:0/db", "port"),
    ])
    func badURLsAreRefusedClearly(url: String, message: String) {
        do {
            _ = try PostgresSettings(url: url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains(message), "\(url): \(error.description)")
            #expect(!error.description.contains("secret-password"))
        }
    }

    @Test func absurdValues() {
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", poolSize: 0) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", poolSize: 1_000_000_000) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", poolSize: -1) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", connectTimeout: .zero) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", statementTimeout: .zero) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", statementTimeout: .seconds(1_000_000)) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/db", connectTimeout: .seconds(1_000_000)) }
        for schema in ["", "\"", "a\"b", "a b", "A", String(repeating: "a", count: 64), "é", "a-b", "x;drop"] {
            #expect(throws: PostgresSettingsError.self, "\(schema)") { try PostgresSettings(url: "postgres://u@h/db", schema: schema) }
        }
        #expect(throws: Never.self) { try PostgresSettings(url: "postgres://u@h/db", schema: "_" + String(repeating: "a", count: 62)) }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@h/" + String(repeating: "d", count: 10_000)) }
        let manyHosts = (0..<100).map { "h\($0)" }.joined(separator: ",")
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@\(manyHosts)/db") }
        #expect(throws: PostgresSettingsError.self) { try PostgresSettings(url: "postgres://u@\(String(repeating: "h", count: 300))/db") }
    }
}

/// How a range is cut into index ranges of (shard, key); needs no server.
@Suite struct ShardedRangeTests {
    let record = [UInt8(0x01)] + [UInt8](repeating: 0xAB, count: 15)

    @Test func aRecordsRangeIsOneShard() {
        let upper = StoreKeyRange.upperBound(forPrefix: record)
        #expect(ShardedRange.pieces(from: record, to: upper) == [.init(shards: .exactly(record), lower: record, upper: upper)])
        #expect(ShardedRange.pieces(from: record + [0x00], to: record + [0x01]) == [.init(shards: .exactly(record), lower: record + [0x00], upper: record + [0x01])])
    }

    @Test func globalRangesAreTheEmptyShard() {
        #expect(ShardedRange.pieces(from: [0x7E, 0x44], to: [0x7E, 0x45]) == [.init(shards: .exactly([]), lower: [0x7E, 0x44], upper: [0x7E, 0x45])])
        #expect(ShardedRange.pieces(from: Array("s2026".utf8), to: nil) == [.init(shards: .exactly([]), lower: Array("s2026".utf8), upper: nil)])
        #expect(ShardedRange.pieces(from: nil, to: [0x00, 0x01]) == [.init(shards: .exactly([]), lower: [], upper: [0x00, 0x01])])
    }

    @Test func anUnboundedRangeIsThreeRuns() {
        #expect(ShardedRange.pieces(from: nil, to: nil) == [
            .init(shards: .exactly([]), lower: [], upper: [0x01]),
            .init(shards: .between([0x01], [0x02]), lower: [0x01], upper: [0x02]),
            .init(shards: .exactly([]), lower: [0x02], upper: nil),
        ])
    }

    @Test func emptyRangesHaveNoPieces() {
        #expect(ShardedRange.pieces(from: [0x05], to: [0x05]).isEmpty)
        #expect(ShardedRange.pieces(from: [0x06], to: [0x05]).isEmpty)
    }

    @Test func theShardOfAKey() {
        #expect(Shard.of(record + [0x00, 0x01]) == record)
        #expect(Shard.of(record) == record)
        #expect(Shard.of([0x01, 0x02]) == [])
        #expect(Shard.of([]) == [])
        #expect(Shard.of(Array("~D".utf8) + record) == [])
    }
}
