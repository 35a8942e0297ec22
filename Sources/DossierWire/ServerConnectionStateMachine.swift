import NIOCore
public import DossierProto

/// The per-connection rules of a ttrpc server, with no I/O: the channel handler feeds it
/// frames and call completions and executes the actions it returns.
public struct ServerConnectionStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Start the call; its answer comes back through `callCompleted`.
        case dispatch(streamID: UInt32, request: Ttrpc_Request)
        /// Answer the stream with this status now (no call runs).
        case reply(streamID: UInt32, code: StatusCode, message: String)
        /// Nothing to do (e.g. a frame type kept for forward compatibility).
        case none
    }

    public let maxInFlight: Int
    public let maxPayloadLength: Int
    private var lastStreamID: UInt32 = 0
    private var inFlight: Set<UInt32> = []
    public private(set) var isDraining = false

    public init(maxInFlight: Int, maxPayloadLength: Int = TTRPCFrameHeader.defaultMaxPayloadLength) {
        self.maxInFlight = maxInFlight
        self.maxPayloadLength = maxPayloadLength
    }

    /// Calls started and not yet answered.
    public var inFlightCount: Int { inFlight.count }

    /// Whether the connection may read more frames (bounded in-flight calls = bounded memory).
    public var canRead: Bool { inFlight.count < maxInFlight }

    /// Requests arriving from now on are answered UNAVAILABLE; calls in flight complete.
    public mutating func beginDraining() { isDraining = true }

    public mutating func received(_ event: TTRPCFrameEvent) -> Action {
        switch event {
        case .oversized(let header):
            return .reply(
                streamID: header.streamID, code: .resourceExhausted,
                message: "message length \(header.length) exceed maximum message size of \(maxPayloadLength)")
        case .frame(let header, let payload):
            return received(header, payload: payload)
        }
    }

    private mutating func received(_ header: TTRPCFrameHeader, payload: ByteBuffer) -> Action {
        let id = header.streamID
        guard id % 2 == 1 else {
            return .reply(
                streamID: id, code: .invalidArgument, message: "StreamID must be odd for client initiated streams")
        }
        switch header.type {
        case .data:
            if inFlight.remove(id) != nil {
                return .reply(streamID: id, code: .invalidArgument, message: "data frames are not accepted on unary calls")
            }
            return .reply(streamID: id, code: .invalidArgument, message: "StreamID is no longer active")
        case .request:
            guard id > lastStreamID else {
                return .reply(
                    streamID: id, code: .invalidArgument, message: "StreamID cannot be re-used and must increment")
            }
            lastStreamID = id
            let request: Ttrpc_Request
            do {
                request = try Ttrpc_Request(serializedBytes: Array(payload.readableBytesView))
            } catch {
                return .reply(streamID: id, code: .invalidArgument, message: "unmarshal request error: \(error)")
            }
            if isDraining {
                return .reply(streamID: id, code: .unavailable, message: "server is shutting down")
            }
            inFlight.insert(id)
            return .dispatch(streamID: id, request: request)
        default:
            // Response frames from a client and unknown types are ignored, as ttrpc does.
            return .none
        }
    }

    /// A call finished. Returns whether its answer must be sent (false when the stream was
    /// already answered: deadline passed or a data frame arrived).
    public mutating func callCompleted(streamID: UInt32) -> Bool {
        inFlight.remove(streamID) != nil
    }

    /// The drain timeout passed: every call still in flight is answered now (UNAVAILABLE) and
    /// its eventual result discarded. Returns their stream ids.
    public mutating func abandonAll() -> [UInt32] {
        defer { inFlight.removeAll() }
        return inFlight.sorted()
    }

    /// The call's deadline passed. Returns whether DEADLINE_EXCEEDED must be sent now.
    public mutating func deadlineExceeded(streamID: UInt32) -> Bool {
        inFlight.remove(streamID) != nil
    }
}
