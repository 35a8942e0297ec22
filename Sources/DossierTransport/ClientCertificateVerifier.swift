import Foundation
import NIOConcurrencyHelpers
import NIOSSL
import SwiftASN1
import X509

/// Verifies a client's certificate chain during the TLS handshake (docs/PROTOCOL.md 2.1).
///
/// NIOSSL's custom verification replaces *all* of BoringSSL's checks, so this redoes them:
/// the chain to the client CA bundle with its signatures, validity dates, basic and name
/// constraints (swift-certificates' RFC 5280 policy), key usages (digitalSignature on the
/// leaf, keyCertSign on CAs), the `clientAuth` extended key usage, and adds revocation
/// (operators' and the CRL's serials). A refusal names its reason for metrics and logs; the
/// client sees the handshake fail.
///
/// A resumed TLS session skips the handshake's certificate messages, so the server verifies the
/// session's certificate again (`verifyResumed`) with the intermediates its first handshake
/// presented.
public final class ClientCertificateVerifier: Sendable {
    public enum Refusal: String, Error, Sendable {
        case malformed = "certificate_malformed"
        case chainTooLong = "certificate_chain_too_long"
        case expired = "certificate_expired"
        case notYetValid = "certificate_not_yet_valid"
        case noClientAuthUsage = "certificate_usage"
        case revoked = "certificate_revoked"
        case untrusted = "certificate_untrusted"
    }

    /// Intermediates a client may present. Chain building tries every path through them, so
    /// their number bounds the work an unauthenticated client can cause.
    public static let maxIntermediates = 4
    /// Leaves whose intermediates are remembered for resumed sessions (then forgotten at once).
    static let rememberedLeaves = 10_000

    private let roots: CertificateStore
    private let isRevoked: @Sendable (_ serial: [UInt8]) -> Bool
    private let intermediatesOfLeaf = NIOLockedValueBox<[Certificate: [Certificate]]>([:])

    public init(roots: [Certificate], isRevoked: @escaping @Sendable (_ serial: [UInt8]) -> Bool) {
        self.roots = CertificateStore(roots)
        self.isRevoked = isRevoked
    }

    /// Checks `presented` (leaf first, as the client sent it) at `now`. `chainVerified` learns
    /// the verified chain's serial numbers (leaf first) before revocation is checked, so that a
    /// revocation landing meanwhile still finds the connection. Returns those serials.
    public func verify(
        _ presented: [NIOSSLCertificate], now: Date = Date(),
        chainVerified: @Sendable ([[UInt8]]) -> Void = { _ in }
    ) async -> Result<[[UInt8]], Refusal> {
        guard let first = presented.first else { return .failure(.malformed) }
        guard presented.count <= Self.maxIntermediates + 1 else { return .failure(.chainTooLong) }
        let leaf: Certificate
        let intermediates: [Certificate]
        do {
            leaf = try Certificate(derEncoded: try first.toDERBytes())
            intermediates = try presented.dropFirst().map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            return .failure(.malformed)
        }
        let result = await verify(leaf, intermediates: intermediates, now: now, chainVerified: chainVerified)
        if case .success = result, !intermediates.isEmpty { remember(intermediates, of: leaf) }
        return result
    }

    /// Verifies again the certificate of a resumed session (only its leaf is kept by TLS).
    public func verifyResumed(
        _ leaf: NIOSSLCertificate, now: Date = Date(), chainVerified: @Sendable ([[UInt8]]) -> Void = { _ in }
    ) async -> Result<[[UInt8]], Refusal> {
        guard let leaf = try? Certificate(derEncoded: try leaf.toDERBytes()) else { return .failure(.malformed) }
        let intermediates = intermediatesOfLeaf.withLockedValue { $0[leaf] } ?? []
        return await verify(leaf, intermediates: intermediates, now: now, chainVerified: chainVerified)
    }

    private func verify(
        _ leaf: Certificate, intermediates: [Certificate], now: Date, chainVerified: @Sendable ([[UInt8]]) -> Void
    ) async -> Result<[[UInt8]], Refusal> {
        // The reasons a client can act on first, then the chain as a whole.
        if now < leaf.notValidBefore { return .failure(.notYetValid) }
        if now > leaf.notValidAfter { return .failure(.expired) }
        guard Self.mayAuthenticateClient(leaf) else { return .failure(.noClientAuthUsage) }
        var verifier = Verifier(rootCertificates: roots) {
            RFC5280Policy(validationTime: now)
            ClientAuthChainPolicy()
        }
        guard case .validCertificate(let chain) = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) else {
            return .failure(.untrusted)
        }
        let serials = chain.map { Array($0.serialNumber.bytes) }
        chainVerified(serials)
        if serials.contains(where: isRevoked) { return .failure(.revoked) }
        return .success(serials)
    }

    private func remember(_ intermediates: [Certificate], of leaf: Certificate) {
        intermediatesOfLeaf.withLockedValue { remembered in
            if remembered.count >= Self.rememberedLeaves { remembered.removeAll() }
            remembered[leaf] = intermediates
        }
    }

    /// A NIOSSL custom verification callback running `verify`; `serials` records the verified
    /// chain and the outcome.
    func callback(recording serials: PeerSerials) -> NIOSSLCustomVerificationCallback {
        { [self] certificates, promise in
            promise.completeWithTask {
                let result = await self.verify(certificates, chainVerified: serials.recordChain)
                serials.record(result)
                if case .success = result { return .certificateVerified }
                return .failed
            }
        }
    }

    /// The leaf profile (docs/PROTOCOL.md 3.1): not a CA; keyUsage, when present, allows
    /// digitalSignature; extendedKeyUsage present and listing clientAuth.
    static func mayAuthenticateClient(_ leaf: Certificate) -> Bool {
        do {
            if let constraints = try leaf.extensions.basicConstraints, case .isCertificateAuthority = constraints { return false }
            if let usage = try leaf.extensions.keyUsage, !usage.digitalSignature { return false }
            guard let usages = try leaf.extensions.extendedKeyUsage else { return false }
            return usages.contains(.clientAuth)
        } catch {
            return false
        }
    }

    /// A CA of the chain: keyUsage, when present, allows keyCertSign; extendedKeyUsage, when
    /// present, lists clientAuth (as BoringSSL's purpose check does).
    static func mayIssueClientCertificates(_ authority: Certificate) -> Bool {
        do {
            if let usage = try authority.extensions.keyUsage, !usage.keyCertSign { return false }
            if let usages = try authority.extensions.extendedKeyUsage, !usages.contains(.clientAuth) { return false }
            return true
        } catch {
            return false
        }
    }
}

/// The checks of the CAs of a client chain that RFC5280Policy leaves out (key usages).
struct ClientAuthChainPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.extendedKeyUsage, .X509ExtensionID.subjectAlternativeName, .X509ExtensionID.keyUsage,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        for authority in chain.dropFirst() where !ClientCertificateVerifier.mayIssueClientCertificates(authority) {
            return .failsToMeetPolicy(reason: "a CA of the chain may not issue client certificates")
        }
        return .meetsPolicy
    }
}
