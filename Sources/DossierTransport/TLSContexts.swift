import Foundation
import NIOSSL
import X509

/// Builds NIOSSL contexts from PEM files, failing with a message that names the bad file.
enum TLSContexts {
    static func server(_ files: TLSFiles, allowTLS12: Bool) throws -> NIOSSLContext {
        let chain = try load("certificate chain", files.certificateChain) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = try load("private key", files.privateKey) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let roots = try load("client CA bundle", files.trustRoots) { try NIOSSLCertificate.fromPEMFile($0) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // A client certificate is required and verified against `roots` (not the system store);
        // no host-name check, clients have none.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(roots)
        configuration.minimumTLSVersion = allowTLS12 ? .tlsv12 : .tlsv13
        return try NIOSSLContext(configuration: configuration)
    }

    /// The client CA bundle, for ClientCertificateVerifier.
    static func clientAuthorities(_ files: TLSFiles) throws -> [Certificate] {
        try load("client CA bundle", files.trustRoots) { path in
            try NIOSSLCertificate.fromPEMFile(path).map { try Certificate(derEncoded: try $0.toDERBytes()) }
        }
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

    private static func load<T>(_ what: String, _ path: String, _ body: (String) throws -> T) throws -> T {
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
