import DossierCore
import Logging

/// What every handler knows about the call besides its request.
public struct CallContext: Sendable {
    /// The authenticated caller.
    public let principal: Principal
    /// The client's `request-id` metadata, or one the server made up; for logs only.
    public let requestID: String
    /// A logger carrying the request id and method; never patient data.
    public let logger: Logger
}

/// The identity a connection carries, resolved once after the handshake.
public enum ConnectionIdentity: Sendable {
    case principal(Principal)
    /// The certificate chains to the CA but does not follow the profile: calls get UNAUTHENTICATED.
    case rejected(CertificateProfile.Violation)
}
