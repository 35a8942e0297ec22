import DossierCore
import Logging

/// What every handler knows about the call besides its request.
public struct CallContext: Sendable {
    /// The authenticated caller.
    public let principal: Principal
    /// What identifies the call in the server's log (request id, method, caller, serial): built
    /// only when a line is written, so calls that log nothing format nothing. Never patient data.
    public let logMetadata: @Sendable () -> Logger.Metadata
    /// The rpc, `service/method`, as page tokens bind it.
    public let method: String
    /// Seals and opens this server's page tokens.
    let pageTokens: PageTokens

    init(principal: Principal, logMetadata: @escaping @Sendable () -> Logger.Metadata, method: String, pageTokens: PageTokens) {
        self.principal = principal
        self.logMetadata = logMetadata
        self.method = method
        self.pageTokens = pageTokens
    }
}

/// The identity a connection carries, resolved once after the handshake.
public enum ConnectionIdentity: Sendable {
    case principal(Principal)
    /// The certificate chains to the CA but does not follow the profile: calls get UNAUTHENTICATED.
    case rejected(CertificateProfile.Violation)
}
