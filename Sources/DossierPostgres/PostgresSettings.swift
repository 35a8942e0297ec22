import Foundation

/// Where the PostgreSQL engine finds its database, and how many connections it may hold.
///
/// Parsed from a libpq-style URL, because that is what operators already write for every other
/// PostgreSQL client: `postgres://user@host1:5432,host2:5433/dbname?sslmode=verify-full&
/// sslrootcert=PATH&schema=NAME&connect_timeout=SECONDS&statement_timeout=SECONDS`. Several hosts name the members of a
/// replicated cluster: a connection goes to the first one that accepts writes, so that after a
/// failover new connections find the promoted primary (libpq's `target_session_attrs=read-write`).
///
/// The password should come from a file or an environment variable (`password:`), not from the
/// URL, which ends up in process listings and configuration files; one in the URL is accepted
/// but never printed: `description` is `redacted`.
public struct PostgresSettings: Sendable, CustomStringConvertible {
    /// One member of the cluster.
    public struct Host: Sendable, Hashable {
        public var name: String
        public var port: Int
    }

    /// How the connection is encrypted (libpq's `sslmode`, the values Dossier supports).
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP: only on loopback or a network that is itself encrypted.
        case disable
        /// Encrypted, the server's certificate not verified (as in libpq without `sslrootcert`).
        case require
        /// Encrypted, the certificate verified against `sslrootcert` (or the system's roots) and
        /// the host name.
        case verifyFull = "verify-full"
    }

    public static let defaultPort = 5432
    public static let defaultPoolSize = 16
    public static let poolSizes = 1...512
    public static let defaultSchema = "dossier"
    public static let defaultConnectTimeout: Duration = .seconds(10)
    /// `connect_timeout` in the URL, in whole seconds (libpq's unit).
    public static let connectTimeouts = 1...3600
    public static let defaultStatementTimeout: Duration = .seconds(30)
    /// `statement_timeout` in the URL (Dossier's, not libpq's), in whole seconds.
    public static let statementTimeouts = 1...3600

    public let hosts: [Host]
    public let username: String
    public let password: String?
    public let database: String
    public let tlsMode: TLSMode
    /// A PEM file of the certificate authorities trusted for `verify-full`.
    public let rootCertificatePath: String?
    /// The PostgreSQL schema holding the tables, so that several deployments (or test runs) can
    /// share a database.
    public let schema: String
    public let poolSize: Int
    public let connectTimeout: Duration
    /// The longest a statement may take: the server cancels it then (its `statement_timeout`),
    /// and a connection that answers nothing a few seconds later is closed. Either way the call
    /// fails UNAVAILABLE instead of hanging.
    public let statementTimeout: Duration

    /// - Parameters:
    ///   - url: the libpq-style URL (see the type's documentation).
    ///   - password: wins over a password inside the URL.
    ///   - poolSize: the most connections held at once.
    ///   - schema: wins over `schema=` in the URL; default "dossier".
    ///   - connectTimeout: wins over `connect_timeout=` in the URL.
    ///   - statementTimeout: wins over `statement_timeout=` in the URL.
    public init(
        url: String, password: String? = nil, poolSize: Int = PostgresSettings.defaultPoolSize,
        schema: String? = nil, connectTimeout: Duration? = nil, statementTimeout: Duration? = nil
    ) throws(PostgresSettingsError) {
        let parsed = try ParsedURL(url)
        guard Self.poolSizes.contains(poolSize) else {
            throw PostgresSettingsError("the PostgreSQL pool size must be between \(Self.poolSizes.lowerBound) and \(Self.poolSizes.upperBound), not \(poolSize)")
        }
        let schema = schema ?? parsed.schema ?? Self.defaultSchema
        try Self.validate(schema: schema)
        let timeout = connectTimeout ?? parsed.connectTimeout ?? Self.defaultConnectTimeout
        guard timeout > .zero, timeout <= .seconds(Self.connectTimeouts.upperBound) else {
            throw PostgresSettingsError("the PostgreSQL connect timeout must be more than 0 and at most \(Self.connectTimeouts.upperBound) seconds")
        }
        let statementTimeout = statementTimeout ?? parsed.statementTimeout ?? Self.defaultStatementTimeout
        guard statementTimeout >= .milliseconds(100), statementTimeout <= .seconds(Self.statementTimeouts.upperBound) else {
            throw PostgresSettingsError("the PostgreSQL statement timeout must be at least 0.1 and at most \(Self.statementTimeouts.upperBound) seconds")
        }
        if parsed.rootCertificatePath != nil, parsed.tlsMode != .verifyFull {
            throw PostgresSettingsError("sslrootcert only applies to sslmode=verify-full")
        }
        self.hosts = parsed.hosts
        self.username = parsed.username
        self.password = password ?? parsed.password
        self.database = parsed.database
        self.tlsMode = parsed.tlsMode
        self.rootCertificatePath = parsed.rootCertificatePath
        self.schema = schema
        self.poolSize = poolSize
        self.connectTimeout = timeout
        self.statementTimeout = statementTimeout
    }

    /// The URL without its password, for logs and `config check`.
    public var redacted: String {
        let hostList = hosts.map { host in
            let name = host.name.contains(":") ? "[\(host.name)]" : host.name
            return "\(name):\(host.port)"
        }.joined(separator: ",")
        var query = ["sslmode=\(tlsMode.rawValue)"]
        if let rootCertificatePath { query.append("sslrootcert=\(Self.encode(rootCertificatePath))") }
        query.append("schema=\(schema)")
        if connectTimeout != Self.defaultConnectTimeout { query.append("connect_timeout=\(connectTimeout.components.seconds)") }
        if statementTimeout != Self.defaultStatementTimeout { query.append("statement_timeout=\(statementTimeout.components.seconds)") }
        return "postgres://\(Self.encode(username))@\(hostList)/\(Self.encode(database))?\(query.joined(separator: "&"))"
    }

    public var description: String { redacted }

    /// A PostgreSQL identifier that needs no quoting, so that it can be written into SQL as is.
    static func validate(schema: String) throws(PostgresSettingsError) {
        let bytes = Array(schema.utf8)
        let first: (UInt8) -> Bool = { $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
        let rest: (UInt8) -> Bool = { first($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard (1...63).contains(bytes.count), first(bytes[0]), bytes.dropFirst().allSatisfy(rest) else {
            throw PostgresSettingsError("the PostgreSQL schema must be 1 to 63 characters of a-z, 0-9 and _, not starting with a digit")
        }
        // pg_catalog, pg_toast, information_schema…: reserved by PostgreSQL.
        guard !schema.hasPrefix("pg_"), schema != "information_schema" else {
            throw PostgresSettingsError("the PostgreSQL schema name is reserved by PostgreSQL")
        }
    }

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.urlUserAllowed
        allowed.remove(charactersIn: ":@/?#[]&=,")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// A setting that cannot be used; the description says which and why (without the password).
public struct PostgresSettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The parts of a libpq-style URL, checked one by one so that each mistake gets its own message.
private struct ParsedURL {
    var hosts: [PostgresSettings.Host] = []
    var username = ""
    var password: String?
    var database = ""
    var tlsMode: PostgresSettings.TLSMode = .require
    var rootCertificatePath: String?
    var schema: String?
    var connectTimeout: Duration?
    var statementTimeout: Duration?

    /// Longer than any real URL; bounds the work done on garbage.
    static let maximumLength = 8192
    static let maximumHosts = 64

    init(_ url: String) throws(PostgresSettingsError) {
        guard url.utf8.count <= Self.maximumLength else {
            throw PostgresSettingsError("the PostgreSQL URL is longer than \(Self.maximumLength) bytes")
        }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw PostgresSettingsError("the PostgreSQL URL contains spaces or control characters")
        }
        var rest = Substring(url)
        if rest.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else {
            throw PostgresSettingsError("the PostgreSQL URL must start with postgres:// or postgresql://")
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var queryPart: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            queryPart = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw PostgresSettingsError("the PostgreSQL URL names no database (postgres://user@host:port/DATABASE)")
        }
        let authority = rest[..<slash]
        database = try Self.decode(rest[rest.index(after: slash)...], "database name")
        guard !database.isEmpty else {
            throw PostgresSettingsError("the PostgreSQL URL names no database (postgres://user@host:port/DATABASE)")
        }
        guard let at = authority.lastIndex(of: "@") else {
            throw PostgresSettingsError("the PostgreSQL URL names no user (postgres://USER@host:port/database)")
        }
        let userInfo = authority[..<at]
        if let colon = userInfo.firstIndex(of: ":") {
            username = try Self.decode(userInfo[..<colon], "user name")
            password = try Self.decode(userInfo[userInfo.index(after: colon)...], "password")
        } else {
            username = try Self.decode(userInfo, "user name")
        }
        guard !username.isEmpty else {
            throw PostgresSettingsError("the PostgreSQL URL names no user (postgres://USER@host:port/database)")
        }
        let hostList = authority[authority.index(after: at)...]
        let hostParts = hostList.split(separator: ",", omittingEmptySubsequences: false)
        guard hostParts.count <= Self.maximumHosts else {
            throw PostgresSettingsError("the PostgreSQL URL names more than \(Self.maximumHosts) hosts")
        }
        hosts = try hostParts.map { part throws(PostgresSettingsError) in try Self.host(part) }
        try parseQuery(queryPart)
    }

    private static func host(_ part: Substring) throws(PostgresSettingsError) -> PostgresSettings.Host {
        var name: Substring
        var portText: Substring?
        if part.hasPrefix("[") {
            // An IPv6 address: [::1]:5432.
            guard let close = part.firstIndex(of: "]") else {
                throw PostgresSettingsError("a PostgreSQL host in the URL has an unclosed [")
            }
            name = part[part.index(after: part.startIndex)..<close]
            let after = part[part.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw PostgresSettingsError("a PostgreSQL host in the URL has text after its ]")
                }
                portText = after.dropFirst()
            }
        } else if let colon = part.lastIndex(of: ":") {
            name = part[..<colon]
            portText = part[part.index(after: colon)...]
        } else {
            name = part
        }
        guard !name.isEmpty else {
            throw PostgresSettingsError("the PostgreSQL URL has an empty host name (hosts are separated by commas)")
        }
        let decoded = try decode(name, "host name")
        guard decoded.utf8.count <= 253, !decoded.contains(where: { "/\\@[] ".contains($0) }) else {
            throw PostgresSettingsError("a PostgreSQL host name in the URL is not a host name")
        }
        var port = PostgresSettings.defaultPort
        if let portText {
            guard portText.count <= 5, let number = Int(portText), (1...65535).contains(number) else {
                throw PostgresSettingsError("a PostgreSQL port in the URL must be a number from 1 to 65535")
            }
            port = number
        }
        return PostgresSettings.Host(name: decoded, port: port)
    }

    private mutating func parseQuery(_ query: Substring) throws(PostgresSettingsError) {
        var seen: Set<String> = []
        for pair in query.split(separator: "&") {
            guard let equals = pair.firstIndex(of: "=") else {
                throw PostgresSettingsError("the PostgreSQL URL parameter \(Self.shown(pair)) has no value (name=value)")
            }
            let name = String(pair[..<equals])
            let value = try Self.decode(pair[pair.index(after: equals)...], "parameter value")
            guard seen.insert(name).inserted else {
                throw PostgresSettingsError("the PostgreSQL URL gives \(Self.shown(name[...])) twice")
            }
            switch name {
            case "sslmode":
                guard let mode = PostgresSettings.TLSMode(rawValue: value) else {
                    let modes = PostgresSettings.TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw PostgresSettingsError("sslmode must be one of \(modes), not \(Self.shown(value[...]))")
                }
                tlsMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw PostgresSettingsError("sslrootcert is empty") }
                rootCertificatePath = value
            case "schema":
                schema = value
            case "connect_timeout":
                guard value.count <= 5, let seconds = Int(value), PostgresSettings.connectTimeouts.contains(seconds) else {
                    throw PostgresSettingsError("connect_timeout must be whole seconds from \(PostgresSettings.connectTimeouts.lowerBound) to \(PostgresSettings.connectTimeouts.upperBound)")
                }
                connectTimeout = .seconds(seconds)
            case "statement_timeout":
                guard value.count <= 5, let seconds = Int(value), PostgresSettings.statementTimeouts.contains(seconds) else {
                    throw PostgresSettingsError("statement_timeout must be whole seconds from \(PostgresSettings.statementTimeouts.lowerBound) to \(PostgresSettings.statementTimeouts.upperBound)")
                }
                statementTimeout = .seconds(seconds)
            default:
                throw PostgresSettingsError("the PostgreSQL URL parameter \(Self.shown(name[...])) is not supported (sslmode, sslrootcert, schema, connect_timeout, statement_timeout are)")
            }
        }
    }

    private static func decode(_ text: Substring, _ what: String) throws(PostgresSettingsError) -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            throw PostgresSettingsError("the PostgreSQL URL's \(what) has a bad %-escape")
        }
        guard !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw PostgresSettingsError("the PostgreSQL URL's \(what) contains control characters")
        }
        return decoded
    }

    /// A name from the URL for an error message: short, so that garbage does not flood a log.
    private static func shown(_ text: Substring) -> String {
        text.count <= 40 ? "'\(text)'" : "'\(text.prefix(40))…'"
    }
}
