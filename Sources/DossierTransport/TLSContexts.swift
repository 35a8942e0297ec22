import Foundation
import NIOSSL
import X509

/// The client CA bundle (`--client-ca`), read and parsed once at start-up: for the TLS context
/// and for the server's own verifier and CRL checks.
public struct ClientAuthorities: Sendable {
    let pem: [NIOSSLCertificate]
    public let certificates: [Certificate]

    public init(path: String) throws {
        pem = try TLSContexts.load("client CA bundle", path) { try NIOSSLCertificate.fromPEMFile($0) }
        do {
            certificates = try pem.map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            throw TransportConfigurationError("client CA bundle \(path) holds a certificate that does not parse: \(error)")
        }
    }
}

/// Builds NIOSSL contexts from PEM files, failing with a message that names the bad file.
enum TLSContexts {
    static func server(_ files: TLSFiles, authorities: ClientAuthorities, allowTLS12: Bool) throws -> NIOSSLContext {
        let chain = try load("certificate chain", files.certificateChain) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = try load("private key", files.privateKey) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let roots = authorities.pem
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // A client certificate is required and verified against `roots` (not the system store);
        // no host-name check, clients have none.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(roots)
        configuration.minimumTLSVersion = allowTLS12 ? .tlsv12 : .tlsv13
        return try NIOSSLContext(configuration: configuration)
    }

    /// An empty `certificateChain` connects without a client certificate (the server refuses
    /// that; tests use it to prove so).
    static func client(_ files: TLSFiles) throws -> NIOSSLContext {
        let roots = try load("CA bundle", files.trustRoots) { try NIOSSLCertificate.fromPEMFile($0) }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !files.certificateChain.isEmpty {
            let chain = try load("certificate", files.certificateChain) { try NIOSSLCertificate.fromPEMFile($0) }
            let key = try load("private key", files.privateKey) { try NIOSSLPrivateKey(file: $0, format: .pem) }
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        configuration.trustRoots = .certificates(roots)
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    static func load<T>(_ what: String, _ path: String, _ body: (String) throws -> T) throws -> T {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TransportConfigurationError("\(what) \(path) is missing or unreadable")
        }
        do {
            return try body(path)
        } catch {
            throw TransportConfigurationError("\(what) \(path) is not valid PEM: \(error)")
        }
    }
}
