import DossierWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import X509

/// A ttrpc server over mutual TLS.
///
/// Lifecycle: `start()` binds; `shutdown()` stops accepting, lets every connection finish
/// the calls it has in flight (new requests get UNAVAILABLE), waits up to the drain timeout,
/// then closes what is left.
public final class TTRPCServer<Service: TTRPCService>: Sendable {
    private let configuration: ServerTransportConfiguration
    private let service: Service
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext
    private let isRevoked: @Sendable (_ serial: [UInt8]) -> Bool
    private let verifier: ClientCertificateVerifier
    private let state = NIOLockedValueBox(State())
    /// Connection and handshake counts, for the metrics endpoint.
    public let counters = TransportCounters()
    /// The memory budget of requests in flight, all connections together.
    public let budget: InflightBudget

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: Connection] = [:]
        var isShuttingDown = false
    }

    private struct Connection {
        let channel: any Channel
        /// Serial numbers of the client's certificate chain, as the handshake saw them.
        let serials: PeerSerials
    }

    /// Builds the TLS context now, so bad certificates fail at start-up with a clear message.
    ///
    /// `authorities` is the client CA bundle already read (else it is read from
    /// `configuration.tls.trustRoots`). `isRevoked` is asked about the serial number of every certificate of a client's verified
    /// chain during the handshake (ClientCertificateVerifier); a revoked one fails it.
    public init(
        configuration: ServerTransportConfiguration, service: Service, group: any EventLoopGroup,
        authorities: ClientAuthorities? = nil, isRevoked: @escaping @Sendable (_ serial: [UInt8]) -> Bool = { _ in false }
    ) throws {
        let authorities = try authorities ?? ClientAuthorities(path: configuration.tls.trustRoots)
        self.configuration = configuration
        self.service = service
        self.group = group
        self.isRevoked = isRevoked
        self.budget = InflightBudget(
            limit: configuration.limits.maxInflightBytes,
            maxWait: TimeAmount(configuration.limits.maxAdmissionWait))
        self.sslContext = try TLSContexts.server(configuration.tls, authorities: authorities, allowTLS12: configuration.allowTLS12)
        self.verifier = ClientCertificateVerifier(roots: authorities.certificates, isRevoked: isRevoked)
    }

    /// Binds and starts accepting. Returns the bound address (useful with port 0).
    public func start() async throws -> SocketAddress {
        let limits = configuration.limits
        let sslContext = self.sslContext
        let service = self.service
        let counters = self.counters
        let verifier = self.verifier
        let budget = self.budget
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { [weak self] channel in
                let serials = PeerSerials()
                guard let self, self.admit(channel, serials: serials) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let handshakeTimeout = channel.eventLoop.scheduleTask(in: .init(limits.handshakeTimeout)) {
                        counters.handshakeFailed("timeout")
                        channel.close(promise: nil)
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(
                        NIOSSLServerHandler(
                            context: sslContext, customVerificationCallback: verifier.callback(recording: serials)))
                    try sync.addHandler(
                        HandshakeWatcher(timeout: handshakeTimeout, counters: counters, serials: serials, verifier: verifier))
                    try sync.addHandler(ByteToMessageHandler(TTRPCFrameDecoder(maxPayloadLength: limits.maxPayloadLength)))
                    try sync.addHandler(ServerConnectionHandler(service: service, limits: limits, budget: budget))
                }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw TransportConfigurationError(
                "cannot listen on \(configuration.host):\(configuration.port): \(socketErrorText(error))")
        }
        state.withLockedValue { $0.listener = listener }
        guard let address = listener.localAddress else {
            throw TransportConfigurationError("the listening socket has no address")
        }
        return address
    }

    /// Stops accepting, drains in-flight calls, then closes every connection.
    public func shutdown() async {
        let (listener, connections) = state.withLockedValue { state in
            state.isShuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        try? await listener?.close()
        for channel in connections.map(\.channel) {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
        // Connections close themselves once their last call is answered.
        let deadline = ContinuousClock.now + configuration.limits.drainTimeout
        while connectionCount > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for channel in state.withLockedValue({ $0.connections.values.map(\.channel) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainExpiredEvent())
        }
    }

    /// The number of open connections.
    public var connectionCount: Int {
        state.withLockedValue { $0.connections.count }
    }

    /// Closes every open connection whose client certificate chain holds a serial that
    /// `isRevoked` now reports (after an operator's revocation or a CRL reload). Returns how many
    /// were closed; their calls in flight get no answer.
    @discardableResult
    public func closeRevokedConnections() -> Int {
        let revoked = state.withLockedValue { state in
            state.connections.values.filter { $0.serials.chain.contains(where: isRevoked) }.map(\.channel)
        }
        for channel in revoked {
            counters.closedRevoked()
            channel.close(promise: nil)
        }
        return revoked.count
    }

    private func admit(_ channel: any Channel, serials: PeerSerials) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.isShuttingDown, state.connections.count < configuration.limits.maxConnections else {
                return false
            }
            state.connections[id] = Connection(channel: channel, serials: serials)
            return true
        }
        if admitted {
            counters.accepted()
        } else {
            counters.refusedAtLimit()
        }
        if admitted {
            channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
                self?.counters.closed()
            }
        }
        return admitted
    }
}

/// Cancels the handshake timeout once the TLS handshake completes. A resumed TLS session
/// skipped the certificate verification: the connection is held (its bytes buffered, the
/// handshake event withheld) until the session's certificate is verified again, and closed if
/// it is refused.
private final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let timeout: Scheduled<Void>
    private let counters: TransportCounters
    private let serials: PeerSerials
    private let verifier: ClientCertificateVerifier
    private var held: (event: Any, bytes: [NIOAny])?

    init(timeout: Scheduled<Void>, counters: TransportCounters, serials: PeerSerials, verifier: ClientCertificateVerifier) {
        self.timeout = timeout
        self.counters = counters
        self.serials = serials
        self.verifier = verifier
    }

    /// Errors before the handshake completed are handshake failures (this handler is removed
    /// once it completes).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        counters.handshakeFailed(serials.refusal?.rawValue ?? TransportCounters.reason(error))
        context.fireErrorCaught(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if held != nil {
            held?.bytes.append(data)
        } else {
            context.fireChannelRead(data)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case TLSUserEvent.handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard serials.wasVerified else {
            held = (event, [])
            verifyResumedSession(context)
            return
        }
        completed(context, event)
    }

    /// Passes the handshake event on, then what was held back, then leaves the pipeline (a
    /// removed handler's context forwards nothing).
    private func completed(_ context: ChannelHandlerContext, _ event: Any, releasing bytes: [NIOAny] = []) {
        counters.handshakeCompleted()
        timeout.cancel()
        context.fireUserInboundEventTriggered(event)
        if !bytes.isEmpty {
            for data in bytes { context.fireChannelRead(data) }
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    private func verifyResumedSession(_ context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        guard let leaf = try? context.pipeline.syncOperations.nioSSL_peerCertificate() else {
            counters.handshakeFailed(ClientCertificateVerifier.Refusal.malformed.rawValue)
            context.close(promise: nil)
            return
        }
        let (verifier, serials) = (self.verifier, self.serials)
        Task {
            let result = await verifier.verifyResumed(leaf, chainVerified: serials.recordChain)
            serials.record(result)
            loop.execute {
                let (handler, context) = bound.value
                guard let held = handler.held else { return }
                handler.held = nil
                guard case .success = result else {
                    handler.counters.handshakeFailed(handler.serials.refusal?.rawValue ?? "resumed_session_refused")
                    context.close(promise: nil)
                    return
                }
                handler.completed(context, held.event, releasing: held.bytes)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout.cancel()
        held = nil
        context.fireChannelInactive()
    }
}

/// The serial numbers of one connection's verified client certificate chain, or why the
/// handshake refused it (recorded by ClientCertificateVerifier; revocations close open
/// connections by these serials).
final class PeerSerials: Sendable {
    private struct State {
        var chain: [[UInt8]] = []
        var refusal: ClientCertificateVerifier.Refusal?
        /// False until a verification finished: a resumed session has none.
        var verified = false
    }
    private let state = NIOLockedValueBox(State())

    var chain: [[UInt8]] { state.withLockedValue { $0.chain } }
    var refusal: ClientCertificateVerifier.Refusal? { state.withLockedValue { $0.refusal } }
    var wasVerified: Bool { state.withLockedValue { $0.verified && $0.refusal == nil } }

    /// The verified chain, recorded before revocation is checked.
    @Sendable func recordChain(_ serials: [[UInt8]]) {
        state.withLockedValue { $0.chain = serials }
    }

    @Sendable func record(_ outcome: Result<[[UInt8]], ClientCertificateVerifier.Refusal>) {
        state.withLockedValue { state in
            state.verified = true
            switch outcome {
            case .success(let chain): state.chain = chain
            case .failure(let refusal): state.refusal = refusal
            }
        }
    }
}
