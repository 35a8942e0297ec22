public import DossierProto
import DossierWire
public import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Settings of a client connection.
public struct ClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var tls: TLSFiles
    public var connectTimeout: Duration

    public init(host: String, port: Int, tls: TLSFiles, connectTimeout: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.tls = tls
        self.connectTimeout = connectTimeout
    }
}

/// The connection failed or closed before the call was answered.
public struct ConnectionError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One mutual-TLS ttrpc connection to a server; many calls may be in flight at once.
public final class ClientConnection: RPCUnaryTransport {
    private let channel: any Channel
    private let calls: ClientCalls

    private init(channel: any Channel, calls: ClientCalls) {
        self.channel = channel
        self.calls = calls
    }

    /// Connects and completes the TLS handshake.
    public static func connect(
        _ configuration: ClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ClientConnection {
        let sslContext = try TLSContexts.client(configuration.tls)
        let isIPAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
        let serverHostname = isIPAddress ? nil : configuration.host
        let calls = ClientCalls()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.init(configuration.connectTimeout))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                        try sync.addHandler(ByteToMessageHandler(TTRPCFrameDecoder()))
                        try sync.addHandler(ClientConnectionHandler(calls: calls))
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw ConnectionError("cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        return ClientConnection(channel: channel, calls: calls)
    }

    public func unary(_ method: RPCMethodName, payload: Data, options: RPCCallOptions) async throws -> Data {
        var request = Ttrpc_Request()
        request.service = method.service
        request.method = method.method
        request.payload = payload
        if let timeout = options.timeout {
            let (seconds, attoseconds) = timeout.components
            request.timeoutNano = max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        request.metadata = options.metadata.map { pair in
            var entry = Ttrpc_KeyValue()
            entry.key = pair.key
            entry.value = pair.value
            return entry
        }
        let response = try await send(request, clientDeadline: options.timeout.map { $0 + .seconds(1) })
        guard response.status.code == 0 else {
            throw RPCStatusError(status: response.status)
        }
        return response.payload
    }

    /// Sends a raw envelope and returns the raw response (tests and tools). With a
    /// `clientDeadline`, the call fails with DEADLINE_EXCEEDED if no answer came by then (the
    /// server enforces `timeout_nano` itself; this guards against a server that went silent).
    public func send(_ request: Ttrpc_Request, clientDeadline: Duration? = nil) async throws -> Ttrpc_Response {
        let promise = channel.eventLoop.makePromise(of: Ttrpc_Response.self)
        if let clientDeadline {
            let timer = channel.eventLoop.scheduleTask(in: .init(clientDeadline)) {
                promise.fail(RPCStatusError(code: .deadlineExceeded, message: "no answer from the server in time"))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        // A write that fails before reaching the handler (the connection just closed, e.g. a
        // refused handshake) must fail the call too, or it would wait forever. Completing a
        // completed promise is a no-op in NIO.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            promise.fail(ConnectionError("connection closed: \(error)"))
        }
        channel.writeAndFlush(ClientConnectionHandler.Call(request: request, promise: promise), promise: written)
        return try await promise.futureResult.get()
    }

    /// Writes raw bytes on the connection (tests of malformed input).
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ClientConnectionHandler.Raw(bytes: bytes))
    }

    /// The next response for a stream id sent with `sendRaw`.
    public func awaitResponse(streamID: UInt32) async throws -> Ttrpc_Response {
        let promise = channel.eventLoop.makePromise(of: Ttrpc_Response.self)
        channel.pipeline.fireUserInboundEventTriggered(ClientConnectionHandler.Expect(streamID: streamID, promise: promise))
        return try await promise.futureResult.get()
    }

    /// Whether the connection is still open.
    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }
}

/// Stream-id allocation shared by a connection's calls (odd, increasing, as ttrpc clients do).
final class ClientCalls: Sendable {
    private let next = NIOLockedValueBox<UInt32>(1)

    func allocate() -> UInt32 {
        next.withLockedValue { value in
            defer { value &+= 2 }
            return value
        }
    }
}
