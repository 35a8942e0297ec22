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
    }

    private let state = NIOLockedValueBox(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    func accepted() { state.withLockedValue { $0.accepted += 1 } }
    func refusedAtLimit() { state.withLockedValue { $0.refusedAtLimit += 1 } }
    func handshakeFailed(_ reason: String) { state.withLockedValue { $0.handshakeFailures[reason, default: 0] += 1 } }

    /// A short, stable label for a handshake failure.
    static func reason(_ error: any Error) -> String {
        if let error = error as? NIOSSLError {
            switch error {
            case .handshakeFailed: return "handshake_failed"
            case .uncleanShutdown: return "unclean_shutdown"
            default: return "tls_error"
            }
        }
        if error is IOError { return "io_error" }
        return "other"
    }
}
