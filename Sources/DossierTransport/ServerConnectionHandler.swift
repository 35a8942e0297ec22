import DossierProto
import DossierWire
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// Sent down a connection's pipeline when the server begins shutting down.
struct DrainEvent: Sendable {}

/// Sent when the drain timeout has passed: calls still in flight are answered UNAVAILABLE.
struct DrainExpiredEvent: Sendable {}

/// Runs one ttrpc connection: feeds frames to the state machine and executes its actions.
/// Calls run as tasks and complete on the event loop in any order; reading stops while the
/// connection has its maximum of calls in flight.
final class ServerConnectionHandler<Service: TTRPCService>: ChannelDuplexHandler {
    typealias InboundIn = TTRPCFrameEvent
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    private var machine: ServerConnectionStateMachine
    private let service: Service
    private var connection: Service.ConnectionContext?
    private var pendingRead = false
    private var deadlines: [UInt32: Scheduled<Void>] = [:]
    private var tasks: [UInt32: Task<Void, Never>] = [:]
    private var context: ChannelHandlerContext?
    private var idleTimer: Scheduled<Void>?
    /// A flush is scheduled for the end of this event-loop turn (answers completed together
    /// share one TLS write and one syscall).
    private var flushScheduled = false
    private let limits: TransportLimits
    /// The server-wide memory budget of requests in flight.
    private let budget: InflightBudget
    /// What each call in flight reserved, released when it is answered.
    private var reservations: [UInt32: InflightBudget.Reservation] = [:]
    /// Frames read but not yet admitted (waiting for room in the budget), in order; reading
    /// stays paused while there are any.
    private var held: [TTRPCFrameEvent] = []
    private var admissionWait: (token: Int, timer: Scheduled<Void>)?

    init(service: Service, limits: TransportLimits, budget: InflightBudget) {
        self.service = service
        self.limits = limits
        self.budget = budget
        self.machine = ServerConnectionStateMachine(
            maxInFlight: limits.maxInFlightPerConnection, maxPayloadLength: limits.maxPayloadLength)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        rearmIdleTimer(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if let wait = admissionWait, budget.cancel(wait.token) { wait.timer.cancel() }
        admissionWait = nil
        held.removeAll()
        for reservation in reservations.values { budget.release(reservation) }
        reservations.removeAll()
        idleTimer?.cancel()
        for task in tasks.values { task.cancel() }
        for deadline in deadlines.values { deadline.cancel() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let tls as TLSUserEvent:
            if case .handshakeCompleted = tls {
                connection = service.connectionEstablished(peerCertificate: peerCertificate(context))
            }
        case is DrainEvent:
            machine.beginDraining()
            closeIfDrained(context)
        case is DrainExpiredEvent:
            for streamID in machine.abandonAll() {
                reservations.removeValue(forKey: streamID).map(budget.release)
                tasks.removeValue(forKey: streamID)?.cancel()
                deadlines.removeValue(forKey: streamID)?.cancel()
                write(Ttrpc_Response(code: .unavailable, message: "server is shutting down"), streamID: streamID, context: context)
            }
            context.flush()
            context.close(promise: nil)
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        held.append(unwrapInboundIn(data))
        admitHeldFrames(context)
    }

    /// Admits the held frames in order while the budget has room; the first that does not fit
    /// waits (reading stays paused) until room is released or `maxAdmissionWait` passes.
    private func admitHeldFrames(_ context: ChannelHandlerContext) {
        while admissionWait == nil, !held.isEmpty {
            let event = held[0]
            guard case .frame(_, let payload) = event else {
                held.removeFirst()
                process(event, reservation: nil, context: context)
                continue
            }
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            switch budget.reserve(InflightBudget.cost(ofPayload: payload.readableBytes), on: context.eventLoop, grant: { reservation in
                handler.value.admitted(reservation)
            }) {
            case .reserved(let reservation):
                held.removeFirst()
                process(event, reservation: reservation, context: context)
            case .waiting(let token):
                let timer = context.eventLoop.scheduleTask(in: TimeAmount(limits.maxAdmissionWait)) {
                    handler.value.admissionTimedOut(token: token)
                }
                admissionWait = (token, timer)
            }
        }
        if held.isEmpty { resumeReadingIfPossible(context) }
    }

    private func admitted(_ reservation: InflightBudget.Reservation) {
        admissionWait?.timer.cancel()
        admissionWait = nil
        guard let context, !held.isEmpty else {
            budget.release(reservation)
            return
        }
        process(held.removeFirst(), reservation: reservation, context: context)
        admitHeldFrames(context)
    }

    /// The server has been full for too long: this request is answered RESOURCE_EXHAUSTED with
    /// a retry hint and dropped, without running.
    private func admissionTimedOut(token: Int) {
        guard let context, admissionWait?.token == token, budget.cancel(token) else { return }
        admissionWait = nil
        if case .frame(let header, _) = held.removeFirst() {
            write(Ttrpc_Response.busy(retryAfter: .seconds(1)), streamID: header.streamID, context: context)
        }
        admitHeldFrames(context)
    }

    private func process(_ event: TTRPCFrameEvent, reservation: InflightBudget.Reservation?, context: ChannelHandlerContext) {
        switch machine.received(event) {
        case .none:
            reservation.map(budget.release)
        case .reply(let streamID, let code, let message):
            reservation.map(budget.release)
            write(Ttrpc_Response(code: code, message: message), streamID: streamID, context: context)
        case .dispatch(let streamID, let request):
            if let reservation { reservations[streamID] = reservation }
            dispatch(request, streamID: streamID, context: context)
        }
        rearmIdleTimer(context)
    }

    func read(context: ChannelHandlerContext) {
        if machine.canRead && held.isEmpty {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // TLS failures, resets: nothing to answer; the connection ends.
        context.close(promise: nil)
    }

    // MARK: - Calls

    private func dispatch(_ request: Ttrpc_Request, streamID: UInt32, context: ChannelHandlerContext) {
        guard let connection else {
            // Cannot happen after a completed handshake; answer rather than trust it.
            write(Ttrpc_Response(code: .unauthenticated, message: "no verified client certificate"), streamID: streamID, context: context)
            _ = machine.callCompleted(streamID: streamID)
            reservations.removeValue(forKey: streamID).map(budget.release)
            return
        }
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        if request.timeoutNano > 0 {
            deadlines[streamID] = loop.scheduleTask(in: .nanoseconds(request.timeoutNano)) {
                handler.value.deadlinePassed(streamID: streamID)
            }
        }
        let service = self.service
        tasks[streamID] = Task {
            let response = await service.handle(request, connection: connection)
            loop.execute {
                handler.value.callCompleted(streamID: streamID, response: response)
            }
        }
    }

    private func callCompleted(streamID: UInt32, response: Ttrpc_Response) {
        tasks[streamID] = nil
        reservations.removeValue(forKey: streamID).map(budget.release)
        deadlines.removeValue(forKey: streamID)?.cancel()
        guard let context else { return }
        if machine.callCompleted(streamID: streamID) {
            write(response, streamID: streamID, context: context, flush: false)
            flushSoon(context)
        }
        resumeReadingIfPossible(context)
        closeIfDrained(context)
        rearmIdleTimer(context)
    }

    private func deadlinePassed(streamID: UInt32) {
        deadlines[streamID] = nil
        guard let context, machine.deadlineExceeded(streamID: streamID) else { return }
        reservations.removeValue(forKey: streamID).map(budget.release)
        tasks.removeValue(forKey: streamID)?.cancel()
        write(Ttrpc_Response(code: .deadlineExceeded, message: "deadline exceeded"), streamID: streamID, context: context)
        resumeReadingIfPossible(context)
        closeIfDrained(context)
        rearmIdleTimer(context)
    }

    /// The idle timer runs only while no call is in flight; complete frames and answered calls
    /// restart it, bytes of an unfinished frame do not (PROTOCOL.md 12.1).
    private func rearmIdleTimer(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        guard machine.inFlightCount == 0 else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .init(limits.idleTimeout)) {
            handler.value.context?.close(promise: nil)
        }
    }

    private func resumeReadingIfPossible(_ context: ChannelHandlerContext) {
        if pendingRead && machine.canRead && held.isEmpty {
            pendingRead = false
            context.read()
        }
    }

    private func closeIfDrained(_ context: ChannelHandlerContext) {
        if machine.isDraining && machine.inFlightCount == 0 {
            context.flush()
            context.close(promise: nil)
        }
    }

    /// Flushes once the answers that complete in this event-loop turn are written.
    private func flushSoon(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            handler.value.flushScheduled = false
            handler.value.context?.flush()
        }
    }

    private func write(_ response: Ttrpc_Response, streamID: UInt32, context: ChannelHandlerContext, flush: Bool = true) {
        var response = response
        if response.payload.count > limits.maxPayloadLength - 64 {
            let length = (try? response.serializedBytes() as [UInt8])?.count ?? response.payload.count
            if length > limits.maxPayloadLength {
                response = Ttrpc_Response(
                    code: .resourceExhausted,
                    message: "response message length \(length) exceed maximum message size of \(limits.maxPayloadLength)")
            }
        }
        var buffer = context.channel.allocator.buffer(capacity: TTRPCFrameHeader.size + response.payload.count + 64)
        do {
            try buffer.writeTTRPCFrame(streamID: streamID, type: .response, message: response)
        } catch {
            buffer.clear()
            _ = try? buffer.writeTTRPCFrame(
                streamID: streamID, type: .response,
                message: Ttrpc_Response(code: .internal, message: "internal error"))
        }
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func peerCertificate(_ context: ChannelHandlerContext) -> Certificate? {
        guard let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate(),
            let der = try? certificate.toDERBytes()
        else { return nil }
        return try? Certificate(derEncoded: der)
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
