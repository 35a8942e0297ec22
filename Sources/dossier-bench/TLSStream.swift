import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// The ceiling for large documents on this stack: a plain mutual-TLS byte stream through
/// SwiftNIO and swift-nio-ssl on loopback, no ttrpc, no storage. An in-process server counts
/// what it receives (upload) or sends `size` bytes (download), each in 1 MiB writes.
struct TLSStream {
    let certs: String
    let size: Int

    func run(report: Report) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        var serverTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile("\(certs)/server.pem").map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: "\(certs)/server.key", format: .pem)))
        serverTLS.certificateVerification = .noHostnameVerification
        serverTLS.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile("\(certs)/ca.pem"))
        serverTLS.minimumTLSVersion = .tlsv13
        let serverContext = try NIOSSLContext(configuration: serverTLS)
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.certificateChain = try NIOSSLCertificate.fromPEMFile("\(certs)/professional-gp.pem").map { .certificate($0) }
        clientTLS.privateKey = .privateKey(try NIOSSLPrivateKey(file: "\(certs)/professional-gp.key", format: .pem))
        clientTLS.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile("\(certs)/ca.pem"))
        let clientContext = try NIOSSLContext(configuration: clientTLS)
        let size = self.size

        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext))
                    try channel.pipeline.syncOperations.addHandler(StreamServer(size: size))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!

        for direction in ["upload", "download"] {
            let done = group.next().makePromise(of: Void.self)
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: clientContext, serverHostname: "localhost"))
                        try channel.pipeline.syncOperations.addHandler(StreamClient(expect: direction == "upload" ? 1 : size, done: done))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            let start = ContinuousClock.now
            if direction == "upload" {
                let chunk = ByteBuffer(repeating: 0x5a, count: 1 << 20)
                var sent = 0
                try await channel.writeAndFlush(ByteBuffer(bytes: [UInt8(ascii: "u")])).get()
                while sent < size {
                    try await channel.writeAndFlush(chunk).get()
                    sent += chunk.readableBytes
                }
            } else {
                try await channel.writeAndFlush(ByteBuffer(bytes: [UInt8(ascii: "d")])).get()
            }
            try await done.futureResult.get()
            let seconds = Measurement.micros(ContinuousClock.now - start) / 1e6
            print(String(format: "tls-stream %@ %d MiB: %.2f s = %.0f MB/s", direction, size >> 20, seconds, Double(size) / 1e6 / seconds))
            report.print("tls-stream-\(direction)", Measurement(latenciesMicros: [seconds * 1e6], bytesPerCall: size), seconds: seconds, unit: "streams")
            try await channel.close()
        }
        try await listener.close()
    }
}

/// First byte 'u': count `size` bytes then answer one byte; 'd': send `size` bytes.
private final class StreamServer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let size: Int
    private var mode: UInt8?
    private var received = 0

    init(size: Int) { self.size = size }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if mode == nil, let first = buffer.readInteger(as: UInt8.self) {
            mode = first
            if first == UInt8(ascii: "d") {
                let chunk = ByteBuffer(repeating: 0xa5, count: 1 << 20)
                for _ in 0..<(size >> 20) { context.write(wrapOutboundOut(chunk), promise: nil) }
                context.flush()
            }
        }
        received += buffer.readableBytes
        if mode == UInt8(ascii: "u") && received >= size {
            received = 0
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: [1])), promise: nil)
        }
    }
}

/// Completes `done` once `expect` bytes arrived.
private final class StreamClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let expect: Int
    private let done: EventLoopPromise<Void>
    private var received = 0

    init(expect: Int, done: EventLoopPromise<Void>) {
        self.expect = expect
        self.done = done
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
        if received >= expect { done.succeed() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}
