public import DossierProto
public import DossierWire
import SwiftProtobuf
public import X509

/// What the transport calls: the server's dispatcher, with a per-connection context computed
/// once from the peer's certificate after the handshake.
public protocol TTRPCService: Sendable {
    associatedtype ConnectionContext: Sendable

    /// Called once per connection, after the TLS handshake, with the verified peer certificate.
    func connectionEstablished(peerCertificate: Certificate?) -> ConnectionContext

    /// Runs one call and returns its complete response (errors included as a status).
    func handle(_ request: Ttrpc_Request, connection: ConnectionContext) async -> Ttrpc_Response
}

extension Ttrpc_Response {
    /// A response carrying only a status.
    public init(code: StatusCode, message: String) {
        self.init()
        status.code = code.rawValue
        status.message = message
    }

    /// RESOURCE_EXHAUSTED "SERVER_BUSY": the server is full; the call did not run. The detail
    /// carries when to retry.
    public static func busy(retryAfter delay: Duration) -> Ttrpc_Response {
        var response = Ttrpc_Response(code: .resourceExhausted, message: "the server is busy; retry later")
        var detail = Dossier_V1_ErrorDetail()
        detail.reason = "SERVER_BUSY"
        detail.retryDelay = Google_Protobuf_Duration(seconds: delay.components.seconds)
        if let any = try? Google_Protobuf_Any(message: detail) { response.status.details = [any] }
        return response
    }
}
