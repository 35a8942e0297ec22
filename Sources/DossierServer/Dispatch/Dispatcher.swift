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

    public init(methods: [RPCServerMethod<CallContext>], logger: Logger) {
        self.methods = Dictionary(methods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.services = Set(DossierAPI.services)
        self.logger = logger
    }

    public func connectionEstablished(peerCertificate: Certificate?) -> ConnectionIdentity {
        guard let peerCertificate else { return .rejected(reason: "no client certificate") }
        do {
            return .principal(try CertificateProfile.principal(from: peerCertificate))
        } catch {
            logger.notice("client certificate outside the profile", metadata: ["problem": "\(error)"])
            return .rejected(reason: error.description)
        }
    }

    public func handle(_ request: Ttrpc_Request, connection: ConnectionIdentity) async -> Ttrpc_Response {
        let name = RPCMethodName(service: request.service, method: request.method)
        guard let method = methods[name] else {
            return Ttrpc_Response(code: .unimplemented, message: unimplementedMessage(for: name))
        }
        guard case .principal(let principal) = connection else {
            guard case .rejected(let reason) = connection else { fatalError("unreachable") }
            return Ttrpc_Response(code: .unauthenticated, message: reason)
        }
        let requestID = request.metadata.first { $0.key == "request-id" }?.value ?? UUID().uuidString
        var logger = self.logger
        logger[metadataKey: "request-id"] = "\(requestID.prefix(64))"
        logger[metadataKey: "method"] = "\(name)"
        let context = CallContext(principal: principal, requestID: requestID, logger: logger)
        do {
            var response = Ttrpc_Response()
            response.payload = try await method.handle(request.payload, context)
            return response
        } catch {
            let (status, unexpected) = StatusMapping.status(for: error)
            if unexpected {
                logger.error("call failed", metadata: ["error": "\(String(describing: type(of: error)))"])
            }
            var response = Ttrpc_Response()
            response.status = status
            return response
        }
    }

    private func unimplementedMessage(for name: RPCMethodName) -> String {
        if DossierAPI.methods.contains(name) { return "\(name) is not implemented yet" }
        if services.contains(name.service) { return "method \(name)" }
        return "service \(name.service)"
    }
}
