import DossierCore
import DossierProto
import DossierTransport
import DossierWire
import Foundation
import Logging
import X509

/// Routes ttrpc requests to the service handlers, with the caller's identity, and turns every
/// outcome into a response. Methods of the API that have no handler yet answer UNIMPLEMENTED.
public struct Dispatcher: TTRPCService {
    private let methods: [RPCMethodName: RPCServerMethod<CallContext>]
    private let services: Set<String>
    private let logger: Logger
    private let metrics: CallMetrics?
    private let isRevoked: @Sendable (String) -> Bool

    let pageTokens: PageTokens

    public init(
        methods: [RPCServerMethod<CallContext>], logger: Logger, metrics: CallMetrics? = nil,
        isRevoked: @escaping @Sendable (String) -> Bool = { _ in false }, pageTokenKey: [UInt8]
    ) {
        self.pageTokens = PageTokens(key: pageTokenKey)
        self.methods = Dictionary(methods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.services = Set(DossierAPI.services)
        self.logger = logger
        self.metrics = metrics
        self.isRevoked = isRevoked
    }

    public func connectionEstablished(peerCertificate: Certificate?) -> ConnectionIdentity {
        // The handshake requires a verified certificate; a missing one cannot pass, but if it
        // ever did, the connection could do nothing.
        guard let peerCertificate else { return .rejected(CertificateProfile.Violation.noIdentity) }
        do {
            return .principal(try CertificateProfile.principal(from: peerCertificate))
        } catch {
            logger.notice("client certificate outside the profile", metadata: ["reason": "\(error.reason)"])
            return .rejected(error)
        }
    }

    /// Answers one request and counts it. Names outside the API are counted as "unknown", so
    /// that clients cannot grow the metrics' label sets.
    public func handle(_ request: Ttrpc_Request, connection: ConnectionIdentity) async -> Ttrpc_Response {
        guard let metrics else { return await answer(request, connection: connection) }
        metrics.started()
        let start = ContinuousClock.now
        let response = await answer(request, connection: connection)
        let elapsed = ContinuousClock.now - start
        let known = DossierAPI.methods.contains(RPCMethodName(service: request.service, method: request.method))
        metrics.finished(
            service: known ? request.service : "unknown", method: known ? request.method : "unknown",
            code: "\(StatusCode(rawValue: response.status.code))",
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return response
    }

    /// PROTOCOL.md section 7, steps 7 to 13.
    private func answer(_ request: Ttrpc_Request, connection: ConnectionIdentity) async -> Ttrpc_Response {
        let principal: Principal
        switch connection {
        case .principal(let caller):
            // Checked on every call: a revocation also stops open connections at once.
            guard !isRevoked(caller.certificateSerial) else {
                logger.notice("call with a revoked certificate", metadata: ["serial": "\(caller.certificateSerial)"])
                return response(StatusMapping.make(.unauthenticated, "the client certificate is revoked", reason: "CERT_REVOKED"))
            }
            principal = caller
        case .rejected(let violation):
            return response(StatusMapping.make(.unauthenticated, violation.message, reason: violation.reason))
        }
        let name = RPCMethodName(service: request.service, method: request.method)
        guard let method = methods[name] else {
            if DossierAPI.methods.contains(name) {
                return response(StatusMapping.status(for: DossierError.notImplementedYet).status)
            }
            return Ttrpc_Response(code: .unimplemented, message: unimplementedMessage(for: name))
        }
        guard request.timeoutNano >= 0 else {
            return Ttrpc_Response(code: .deadlineExceeded, message: "deadline exceeded")
        }
        // Nothing below formats anything unless a line is written (per-call metadata on the
        // logger itself cost ~15 % of a Health call: swift-log's stream handler re-renders its
        // metadata on every change).
        let sentRequestID = Self.sentRequestID(in: request)
        let logMetadata: @Sendable () -> Logger.Metadata = {
            var metadata: Logger.Metadata = [
                "request-id": "\(sentRequestID ?? Self.freshRequestID())",
                "method": "\(name)",
                "principal-kind": "\(principal.kind.rawValue)",
                "serial": "\(principal.certificateSerial)",
            ]
            if principal.kind != .patient {
                // Patients' ids are patient identifiers: never in the server's log.
                metadata["principal-id"] = "\(principal.id)"
            }
            return metadata
        }
        let context = CallContext(principal: principal, logMetadata: logMetadata, method: "\(name)", pageTokens: pageTokens)
        let start = ContinuousClock.now
        let answer: Ttrpc_Response
        // Made once when the call logs twice, so both lines carry the same fresh request id.
        var failureMetadata: Logger.Metadata?
        do {
            var success = Ttrpc_Response()
            // Present even when OK (PROTOCOL.md 5.2: an empty message, `0a 00`).
            success.status = Google_Rpc_Status()
            success.payload = try await CallInfo.$requestID.withValue(sentRequestID ?? "") {
                try await method.handle(request.payload, context)
            }
            answer = success
        } catch {
            let (status, unexpected) = StatusMapping.status(for: error)
            if unexpected {
                let metadata = logMetadata()
                failureMetadata = metadata
                logger.error("call failed", metadata: metadata.merging(["error": "\(String(describing: type(of: error)))"]) { $1 })
            }
            answer = response(status)
        }
        let elapsed = ContinuousClock.now - start
        // Health checks come every few seconds from orchestrators: debug, not info.
        let level: Logger.Level = name.service == Dossier_V1_Health.serviceName ? .debug : .info
        logger.log(level: level, "call", metadata: (failureMetadata ?? logMetadata()).merging([
            "status": "\(StatusCode(rawValue: answer.status.code))",
            "duration-us": "\(elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)",
        ]) { $1 })
        return answer
    }

    /// The client's `request-id` (1 to 128 printable ASCII characters), if it sent one.
    static func sentRequestID(in request: Ttrpc_Request) -> String? {
        guard let sent = request.metadata.first(where: { $0.key == "request-id" })?.value,
            (1...128).contains(sent.utf8.count), sent.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e })
        else { return nil }
        return sent
    }

    /// A random version-4 UUID in lower case, for calls without a request id (made only when a
    /// line is logged).
    static func freshRequestID() -> String {
        UUID().uuidString.lowercased()
    }

    private func response(_ status: Google_Rpc_Status) -> Ttrpc_Response {
        var answer = Ttrpc_Response()
        answer.status = status
        return answer
    }

    private func unimplementedMessage(for name: RPCMethodName) -> String {
        if services.contains(name.service) { return "method \(name)" }
        return "service \(name.service)"
    }
}
