import DossierProto
import DossierWire
import NIOCore
import Testing

@Suite struct ServerConnectionStateMachineTests {
    func request(_ streamID: UInt32, type: TTRPCMessageType = .request, payload: [UInt8]? = nil) -> TTRPCFrameEvent {
        var envelope = Ttrpc_Request()
        envelope.service = "dossier.v1.Health"
        envelope.method = "Check"
        let bytes = payload ?? (try! envelope.serializedBytes())
        return .frame(
            TTRPCFrameHeader(length: UInt32(bytes.count), streamID: streamID, type: type), payload: ByteBuffer(bytes: bytes))
    }

    func code(_ action: ServerConnectionStateMachine.Action) -> StatusCode? {
        if case .reply(_, let code, _) = action { return code }
        return nil
    }

    func isDispatch(_ action: ServerConnectionStateMachine.Action, _ id: UInt32) -> Bool {
        if case .dispatch(let streamID, let request) = action { return streamID == id && request.method == "Check" }
        return false
    }

    @Test func documentedAnswersToEachFrame() {
        var machine = ServerConnectionStateMachine(maxInFlight: 8)
        #expect(isDispatch(machine.received(request(1)), 1))
        #expect(code(machine.received(request(2))) == .invalidArgument)            // even id
        #expect(code(machine.received(request(1))) == .invalidArgument)            // reused id
        #expect(isDispatch(machine.received(request(7)), 7))                       // gaps are fine
        #expect(code(machine.received(request(5))) == .invalidArgument)            // not increasing
        #expect(code(machine.received(request(9, payload: [0xFF, 0xFF]))) == .invalidArgument)
        #expect(code(machine.received(request(9))) == .invalidArgument)            // 9 was used up by garbage
        #expect(code(machine.received(request(11, type: .data, payload: []))) == .invalidArgument)
        #expect(machine.received(request(13, type: .response, payload: [])) == .none)
        #expect(machine.received(request(15, type: TTRPCMessageType(rawValue: 9), payload: [])) == .none)
        let oversized = TTRPCFrameHeader(length: 5 << 20, streamID: 17, type: .request)
        guard case .reply(17, .resourceExhausted, let message) = machine.received(.oversized(oversized)) else {
            Issue.record("oversized not answered"); return
        }
        #expect(message == "message length 5242880 exceed maximum message size of 4194304")
        #expect(machine.inFlightCount == 2)
    }

    @Test func dataFrameOnACallInFlightAnswersItOnce() {
        var machine = ServerConnectionStateMachine(maxInFlight: 8)
        _ = machine.received(request(1))
        guard case .reply(1, .invalidArgument, let text) = machine.received(request(1, type: .data, payload: [1])) else {
            Issue.record("no answer"); return
        }
        #expect(text == "data frames are not accepted on unary calls")
        #expect(machine.callCompleted(streamID: 1) == false)  // its result is discarded
    }

    @Test func inFlightBoundStopsReading() {
        var machine = ServerConnectionStateMachine(maxInFlight: 2)
        _ = machine.received(request(1))
        #expect(machine.canRead)
        _ = machine.received(request(3))
        #expect(!machine.canRead)
        let completed = machine.callCompleted(streamID: 1)
        #expect(completed)
        #expect(machine.canRead)
    }

    @Test func deadlineAnswersOnceAndDiscardsTheResult() {
        var machine = ServerConnectionStateMachine(maxInFlight: 2)
        _ = machine.received(request(1))
        let timedOut = machine.deadlineExceeded(streamID: 1)
        #expect(timedOut)
        let lateResult = machine.callCompleted(streamID: 1)
        #expect(!lateResult)
        let secondTimeout = machine.deadlineExceeded(streamID: 1)
        #expect(!secondTimeout)
    }

    @Test func drainingRefusesNewCallsAndAbandonsLateOnes() {
        var machine = ServerConnectionStateMachine(maxInFlight: 4)
        _ = machine.received(request(1))
        machine.beginDraining()
        #expect(code(machine.received(request(3))) == .unavailable)
        let abandoned = machine.abandonAll()
        #expect(abandoned == [1])
        #expect(machine.inFlightCount == 0)
    }
}
