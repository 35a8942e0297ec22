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
    private let state = NIOLockedValueBox(State())
    /// Connection and handshake counts, for the metrics endpoint.
    public let counters = TransportCounters()

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var isShuttingDown = false
    }

    /// Builds the TLS context now, so bad certificates fail at start-up with a clear message.
    public init(configuration: ServerTransportConfiguration, service: Service, group: any EventLoopGroup) throws {
        self.configuration = configuration
        self.service = service
        self.group = group
        self.sslContext = try TLSContexts.server(configuration.tls, allowTLS12: configuration.allowTLS12)
    }

    /// Binds and starts accepting. Returns the bound address (useful with port 0).
    public func start() async throws -> SocketAddress {
        let limits = configuration.limits
        let sslContext = self.sslContext
        let service = self.service
        let counters = self.counters
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: true)
            .childChannelInitializer { [weak self] channel in
                guard let self, self.admit(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let handshakeTimeout = channel.eventLoop.scheduleTask(in: .init(limits.handshakeTimeout)) {
                        counters.handshakeFailed("timeout")
                        channel.close(promise: nil)
                    }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: sslContext))
                    try sync.addHandler(HandshakeWatcher(timeout: handshakeTimeout, counters: counters))
                    try sync.addHandler(ByteToMessageHandler(TTRPCFrameDecoder(maxPayloadLength: limits.maxPayloadLength)))
                    try sync.addHandler(ServerConnectionHandler(service: service, limits: limits))
                }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw TransportConfigurationError(
                "cannot listen on \(configuration.host):\(configuration.port): \(error)")
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
        for channel in connections {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
        // Connections close themselves once their last call is answered.
        let deadline = ContinuousClock.now + configuration.limits.drainTimeout
        while connectionCount > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for channel in state.withLockedValue({ Array($0.connections.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainExpiredEvent())
        }
    }

    /// The number of open connections.
    public var connectionCount: Int {
        state.withLockedValue { $0.connections.count }
    }

    private func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.isShuttingDown, state.connections.count < configuration.limits.maxConnections else {
                return false
            }
            state.connections[id] = channel
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

/// Cancels the handshake timeout once the TLS handshake completes.
private final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let timeout: Scheduled<Void>
    private let counters: TransportCounters

    init(timeout: Scheduled<Void>, counters: TransportCounters) {
        self.timeout = timeout
        self.counters = counters
    }

    /// Errors before the handshake completed are handshake failures (this handler is removed
    /// once it completes).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        counters.handshakeFailed(TransportCounters.reason(error))
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if case TLSUserEvent.handshakeCompleted = event {
            counters.handshakeCompleted()
            timeout.cancel()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout.cancel()
        context.fireChannelInactive()
    }
}
