import Foundation
import NIOSSL
import SwiftASN1
import X509

/// Verifies a client's certificate chain during the TLS handshake (docs/PROTOCOL.md 2.1).
///
/// NIOSSL's custom verification replaces *all* of BoringSSL's checks, so this redoes them:
/// the chain to the client CA bundle with its signatures, validity dates, basic and name
/// constraints (swift-certificates' RFC 5280 policy), the `clientAuth` extended key usage, and
/// adds revocation (operators' and the CRL's serials). A refusal names its reason for metrics
/// and logs; the client sees the handshake fail.
public struct ClientCertificateVerifier: Sendable {
    public enum Refusal: String, Error, Sendable {
        case malformed = "certificate_malformed"
        case expired = "certificate_expired"
        case notYetValid = "certificate_not_yet_valid"
        case noClientAuthUsage = "certificate_usage"
        case revoked = "certificate_revoked"
        case untrusted = "certificate_untrusted"
    }

    private let roots: CertificateStore
    private let isRevoked: @Sendable (_ serial: [UInt8]) -> Bool

    public init(roots: [Certificate], isRevoked: @escaping @Sendable (_ serial: [UInt8]) -> Bool) {
        self.roots = CertificateStore(roots)
        self.isRevoked = isRevoked
    }

    /// Checks `presented` (leaf first, as the client sent it) at `now`; returns the serial
    /// numbers of the verified chain, leaf first.
    public func verify(_ presented: [NIOSSLCertificate], now: Date = Date()) async -> Result<[[UInt8]], Refusal> {
        guard let first = presented.first else { return .failure(.malformed) }
        let leaf: Certificate
        let intermediates: [Certificate]
        do {
            leaf = try Certificate(derEncoded: try first.toDERBytes())
            intermediates = try presented.dropFirst().map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            return .failure(.malformed)
        }
        // The reasons a client can act on first, then the chain as a whole.
        if now < leaf.notValidBefore { return .failure(.notYetValid) }
        if now > leaf.notValidAfter { return .failure(.expired) }
        guard Self.allowsClientAuth(leaf, required: true) else { return .failure(.noClientAuthUsage) }
        var verifier = Verifier(rootCertificates: roots) {
            RFC5280Policy(validationTime: now)
            ClientAuthChainPolicy()
        }
        guard case .validCertificate(let chain) = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) else {
            return .failure(.untrusted)
        }
        let serials = chain.map { Array($0.serialNumber.bytes) }
        if serials.contains(where: isRevoked) { return .failure(.revoked) }
        return .success(serials)
    }

    /// A NIOSSL custom verification callback running `verify`; `outcome` learns the result
    /// (the connection records its serials, or the refusal's reason).
    func callback(outcome: @escaping @Sendable (Result<[[UInt8]], Refusal>) -> Void) -> NIOSSLCustomVerificationCallback {
        { [self] certificates, promise in
            promise.completeWithTask {
                let result = await verify(certificates)
                outcome(result)
                if case .success = result { return .certificateVerified }
                return .failed
            }
        }
    }

    /// True when `certificate` may authenticate a TLS client: its extended key usage lists
    /// clientAuth (or any usage). Without the extension a CA certificate is unrestricted; a leaf
    /// (`required`) must carry it (docs/PROTOCOL.md 3).
    static func allowsClientAuth(_ certificate: Certificate, required: Bool) -> Bool {
        let usages: ExtendedKeyUsage?
        do {
            usages = try certificate.extensions.extendedKeyUsage
        } catch {
            return false
        }
        guard let usages else { return !required }
        return usages.contains(.clientAuth) || usages.contains(.any)
    }
}

/// Every CA of the chain that restricts its extended key usage must allow clientAuth (as
/// BoringSSL's purpose check does); the leaf is checked before the chain is built.
struct ClientAuthChainPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.extendedKeyUsage, .X509ExtensionID.subjectAlternativeName,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        for certificate in chain.dropFirst() where !ClientCertificateVerifier.allowsClientAuth(certificate, required: false) {
            return .failsToMeetPolicy(reason: "a CA of the chain does not allow clientAuth")
        }
        return .meetsPolicy
    }
}
