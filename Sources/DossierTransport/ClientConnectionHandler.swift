import DossierProto
import DossierWire
import NIOCore

/// Writes requests with fresh stream ids and completes each call's promise with the response
/// of the same stream id, in whatever order responses come.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = TTRPCFrameEvent
    typealias OutboundIn = Any
    typealias OutboundOut = ByteBuffer

    struct Call {
        let request: Ttrpc_Request
        let promise: EventLoopPromise<Ttrpc_Response>
    }
    struct Raw {
        let bytes: [UInt8]
    }
    struct Expect {
        let streamID: UInt32
        let promise: EventLoopPromise<Ttrpc_Response>
    }

    private let calls: ClientCalls
    private var pending: [UInt32: EventLoopPromise<Ttrpc_Response>] = [:]
    private var flushScheduled = false

    init(calls: ClientCalls) {
        self.calls = calls
    }

    /// Calls written from many tasks in the same event-loop turn share one flush (one TLS
    /// write, one syscall) instead of one each.
    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        loop.execute {
            bound.value.handler.flushScheduled = false
            bound.value.context.flush()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let value = unwrapOutboundIn(data)
        if let raw = value as? Raw {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: raw.bytes)), promise: promise)
            return
        }
        guard let call = value as? Call else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let streamID = calls.allocate()
        var buffer = context.channel.allocator.buffer(capacity: call.request.payload.count + 64)
        do {
            try buffer.writeTTRPCFrame(streamID: streamID, type: .request, message: call.request)
        } catch {
            call.promise.fail(error)
            promise?.fail(error)
            return
        }
        pending[streamID] = call.promise
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .frame(let header, let payload) = unwrapInboundIn(data),
            header.type == .response,
            let promise = pending.removeValue(forKey: header.streamID)
        else { return }
        do {
            promise.succeed(try Ttrpc_Response(serializedBytes: Array(payload.readableBytesView)))
        } catch {
            promise.fail(ConnectionError("undecodable response: \(error)"))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let expect = event as? Expect {
            pending[expect.streamID] = expect.promise
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll(ConnectionError(Self.describe(error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ConnectionError("connection closed"))
        context.fireChannelInactive()
    }

    /// With TLS 1.3 a refused client certificate only shows as an alert on the first read; say
    /// so in words (docs/PROTOCOL.md 2.1) rather than as a network failure.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("ALERT_CERTIFICATE_UNKNOWN") || text.contains("ALERT_CERTIFICATE_REQUIRED")
            || text.contains("ALERT_BAD_CERTIFICATE") || text.contains("ALERT_CERTIFICATE_REVOKED")
            || text.contains("ALERT_CERTIFICATE_EXPIRED") || text.contains("ALERT_UNKNOWN_CA") {
            return "the server refused the client certificate (missing, untrusted, expired, not yet valid, without clientAuth, or revoked): \(error)"
        }
        return "connection failed: \(error)"
    }

    private func failAll(_ error: ConnectionError) {
        let promises = pending.values
        pending.removeAll()
        for promise in promises { promise.fail(error) }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
