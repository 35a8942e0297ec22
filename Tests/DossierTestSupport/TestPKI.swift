import Crypto
import DossierTransport
import Foundation
import SwiftASN1
import X509

/// An in-process PKI for tests: a CA, a server certificate for 127.0.0.1/localhost, and client
/// certificates following (or breaking) the Dossier profile, written as PEM files into a
/// temporary directory.
public final class TestPKI: Sendable {
    public let directory: URL
    private let caKey: P256.Signing.PrivateKey
    private let caCertificate: Certificate
    private let caName: DistinguishedName

    public init(name: String = "Test CA") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        caKey = P256.Signing.PrivateKey()
        caName = try DistinguishedName { CommonName(name) }
        let now = Date()
        caCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400 * 365, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        try write(caCertificate.serializeAsPEM().pemString, to: "ca.pem")
    }

    public var caPath: String { path("ca.pem") }

    /// The server's TLS files (its chain and key; trust roots = this CA for client certs).
    public func serverFiles() throws -> TLSFiles {
        let key = P256.Signing.PrivateKey()
        let certificate = try issue(
            key: key, subject: try DistinguishedName { CommonName("localhost") },
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            })
        return try save(certificate, key, as: "server")
    }

    /// A client certificate following the profile: URI SAN `urn:dossier:<kind>:<id>`,
    /// OU = profession, O = organisation, CN = name. `validity`, `usages` and `digitalSignature`
    /// break the profile for handshake tests (expired, not yet valid, no clientAuth, a keyUsage
    /// without digitalSignature).
    public func clientFiles(
        kind: String, id: String, profession: String? = nil, organisation: String? = nil,
        name: String = "Test Person", uris: [String]? = nil,
        validity: ClosedRange<Date>? = nil, usages: [ExtendedKeyUsage.Usage] = [.clientAuth], digitalSignature: Bool = true
    ) throws -> TLSFiles {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            if let organisation { OrganizationName(organisation) }
            if let profession { OrganizationalUnitName(profession) }
            CommonName(name)
        }
        let names = (uris ?? ["urn:dossier:\(kind):\(id)"]).map { GeneralName.uniformResourceIdentifier($0) }
        let certificate = try issue(
            key: key, subject: subject,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(digitalSignature ? KeyUsage(digitalSignature: true) : KeyUsage(keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                SubjectAlternativeNames(names)
            },
            validity: validity)
        return try save(certificate, key, as: "client-\(kind)-\(id)-\(UUID().uuidString.prefix(8))")
    }

    /// A CRL of this CA (DER file) listing the certificates of `revoked`; `tamper` flips a bit of
    /// its signed part (the signature then fails).
    public func crl(revoking revoked: [TLSFiles], nextUpdate: Date = Date() + 86_400, tamper: Bool = false, name: String = "ca.crl") throws -> String {
        let serials = try revoked.map { files in
            try Certificate(pemEncoded: String(contentsOfFile: files.certificateChain, encoding: .utf8)).serialNumber.bytes
        }
        func utc(_ date: Date) throws -> UTCTime {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            return try UTCTime(year: c.year!, month: c.month!, day: c.day!, hours: c.hour!, minutes: c.minute!, seconds: c.second!)
        }
        let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try coder.serialize(caName)
            try coder.serialize(try utc(Date() - 60))
            try coder.serialize(try utc(nextUpdate))
            if !serials.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { list in
                    for serial in serials {
                        try list.appendConstructedNode(identifier: .sequence) { entry in
                            try entry.serialize(ArraySlice(serial))
                            try entry.serialize(try utc(Date() - 30))
                        }
                    }
                }
            }
        }
        var signed = tbs.serializedBytes
        let signature = try caKey.signature(for: signed).derRepresentation
        if tamper { signed[signed.count - 1] ^= 0x01 }
        var crl = DER.Serializer()
        try crl.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(signed)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256) }
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature)))
        }
        FileManager.default.createFile(atPath: path(name), contents: Data(crl.serializedBytes))
        return path(name)
    }

    /// The serial number of the certificate in `files`, as lower-case hex.
    public func serial(of files: TLSFiles) throws -> String {
        let certificate = try Certificate(pemEncoded: String(contentsOfFile: files.certificateChain, encoding: .utf8))
        return certificate.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
    }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func issue(
        key: P256.Signing.PrivateKey, subject: DistinguishedName, extensions: Certificate.Extensions,
        validity: ClosedRange<Date>? = nil
    ) throws -> Certificate {
        let now = Date()
        let validity = validity ?? (now - 3600)...(now + 86_400 * 30)
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: validity.lowerBound, notValidAfter: validity.upperBound, issuer: caName, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(caKey))
    }

    private func save(_ certificate: Certificate, _ key: P256.Signing.PrivateKey, as name: String) throws -> TLSFiles {
        try write(certificate.serializeAsPEM().pemString, to: "\(name).pem")
        try write(key.pemRepresentation, to: "\(name).key")
        return TLSFiles(certificateChain: path("\(name).pem"), privateKey: path("\(name).key"), trustRoots: caPath)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func write(_ text: String, to name: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }
}
