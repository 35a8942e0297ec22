import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// What the transport counts for the metrics endpoint: connections accepted and refused at the
/// limit, and TLS handshakes that failed, by reason (no certificate details, no addresses).
public final class TransportCounters: Sendable {
    public struct Snapshot: Sendable {
        public var accepted: UInt64 = 0
        public var refusedAtLimit: UInt64 = 0
        public var handshakeFailures: [String: UInt64] = [:]
        public var handshakesCompleted: UInt64 = 0
    }

    /// Connection events for the server's log: (event, reason). Never addresses or identities.
    public typealias EventSink = @Sendable (_ event: String, _ reason: String?) -> Void

    private let state = NIOLockedValueBox(Snapshot())
    /// A class holds the closure: a closure stored directly in a generic box is re-wrapped in
    /// two reabstraction thunks by every `inout` access, so each event made the next one slower
    /// (found by profiling the handshake benchmark).
    private final class SinkHolder: Sendable {
        let sink: EventSink
        init(_ sink: @escaping EventSink) { self.sink = sink }
    }
    private let sink = NIOLockedValueBox<SinkHolder?>(nil)

    public init() {}

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    /// Where connection events go (the server logs them).
    public func onEvent(_ sink: @escaping EventSink) {
        let holder = SinkHolder(sink)
        self.sink.withLockedValue { $0 = holder }
    }

    private func emit(_ event: String, _ reason: String? = nil) {
        sink.withLockedValue { $0 }?.sink(event, reason)
    }

    func accepted() {
        state.withLockedValue { $0.accepted += 1 }
        emit("connection accepted")
    }

    func refusedAtLimit() {
        state.withLockedValue { $0.refusedAtLimit += 1 }
        emit("connection refused", "max-connections")
    }

    func handshakeFailed(_ reason: String) {
        state.withLockedValue { $0.handshakeFailures[reason, default: 0] += 1 }
        emit("handshake failed", reason)
    }

    func handshakeCompleted() {
        state.withLockedValue { $0.handshakesCompleted += 1 }
        emit("handshake completed")
    }
    func closedRevoked() { emit("connection closing", "certificate_revoked") }
    func closed() { emit("connection closed") }

    /// A short, stable label for a handshake failure.
    static func reason(_ error: any Error) -> String {
        if let error = error as? NIOSSLError {
            switch error {
            // BoringSSL refuses a TLS 1.3 peer certificate whose keyUsage leaves out
            // digitalSignature while parsing it, before our verifier (alert illegal_parameter):
            // counted with the other usage refusals.
            case .handshakeFailed(let underlying) where "\(underlying)".contains("KEY_USAGE_BIT_INCORRECT"): return "certificate_usage"
            case .handshakeFailed: return "handshake_failed"
            case .uncleanShutdown: return "unclean_shutdown"
            default: return "tls_error"
            }
        }
        if error is IOError { return "io_error" }
        return "other"
    }
}
