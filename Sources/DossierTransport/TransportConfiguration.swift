/// Where the TLS material of one side lives (PEM files).
public struct TLSFiles: Sendable, Hashable {
    /// This side's certificate chain (leaf first).
    public var certificateChain: String
    public var privateKey: String
    /// CA bundle the peer's certificate must chain to (for the server: the client CA).
    public var trustRoots: String

    public init(certificateChain: String, privateKey: String, trustRoots: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.trustRoots = trustRoots
    }
}

/// The limits a server enforces per connection (docs/PROTOCOL.md, "Limits").
public struct TransportLimits: Sendable, Hashable {
    /// Largest frame payload accepted; larger declared lengths get RESOURCE_EXHAUSTED.
    public var maxPayloadLength: Int = 4 << 20
    /// Calls in flight per connection before the server stops reading from it.
    public var maxInFlightPerConnection: Int = 128
    /// Connections beyond this are closed at accept.
    public var maxConnections: Int = 4096
    /// A TLS handshake not finished by then closes the connection.
    public var handshakeTimeout: Duration = .seconds(10)
    /// No frame and no call in flight for this long closes the connection.
    public var idleTimeout: Duration = .seconds(300)
    /// How long shutdown waits for in-flight calls before closing connections.
    public var drainTimeout: Duration = .seconds(30)
    /// Bytes of requests admitted and not yet answered, all connections together
    /// (InflightBudget); past it connections stop being read.
    public var maxInflightBytes: Int = 512 << 20
    /// How long a request may wait for room in that budget before it is answered
    /// RESOURCE_EXHAUSTED "SERVER_BUSY" with a retry hint.
    public var maxAdmissionWait: Duration = .seconds(2)

    public init() {}
}

/// Settings of the ttrpc-over-TLS server socket.
public struct ServerTransportConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    public var tls: TLSFiles
    /// TLS 1.3 only unless an operator allows 1.2 for legacy software.
    public var allowTLS12: Bool
    public var limits: TransportLimits

    public init(host: String, port: Int, tls: TLSFiles, allowTLS12: Bool = false, limits: TransportLimits = .init()) {
        self.host = host
        self.port = port
        self.tls = tls
        self.allowTLS12 = allowTLS12
        self.limits = limits
    }
}

/// A problem with the transport's configuration, found at start-up.
public struct TransportConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
