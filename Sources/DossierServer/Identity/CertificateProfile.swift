import DossierCore
import SwiftASN1
import X509

/// Reads a client certificate as the Dossier certificate profile (docs/PROTOCOL.md, section 3):
/// exactly one URI SAN `urn:dossier:<kind>:<id>`, CN = display name, OU = profession (exactly
/// one, required for professionals), O = organisation.
public enum CertificateProfile {
    /// Why a verified certificate cannot be used as a Dossier identity. Messages and reasons are
    /// those of PROTOCOL.md 3.2; they never repeat the certificate's content.
    public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public let reason: String
        public var description: String { message }

        static let noIdentity = Violation(message: "certificate has no urn:dossier identity", reason: "CERT_NO_IDENTITY")
        static let severalIdentities = Violation(
            message: "certificate has several urn:dossier identities", reason: "CERT_SEVERAL_IDENTITIES")
        static let unknownKind = Violation(message: "certificate identity has an unknown kind", reason: "CERT_UNKNOWN_KIND")
        static let invalidID = Violation(
            message: "certificate identity is not urn:dossier:<kind>:<id> with a valid id", reason: "CERT_INVALID_ID")
        static let missingProfession = Violation(
            message: "professional certificate must name exactly one profession (OU)", reason: "CERT_MISSING_PROFESSION")
        static let invalidProfession = Violation(
            message: "professional certificate has an invalid profession code", reason: "CERT_INVALID_PROFESSION")
        static let invalidOrganisation = Violation(
            message: "certificate has an invalid organisation id (O)", reason: "CERT_INVALID_ORGANISATION")
    }

    static let urnPrefix = "urn:dossier:"

    public static func principal(from certificate: Certificate) throws(Violation) -> Principal {
        let (kind, id) = try identity(of: certificate)
        let units = attributes(.RDNAttributeType.organizationalUnitName, of: certificate)
        let organisations = attributes(.RDNAttributeType.organizationName, of: certificate)
        var profession: String?
        var organisation: String?
        switch kind {
        case .professional:
            guard units.count == 1, let unit = units.first else { throw .missingProfession }
            guard isProfessionCode(unit) else { throw .invalidProfession }
            profession = unit
            if let name = organisations.first {
                guard organisations.count == 1, Identifier.isValid(name) else { throw .invalidOrganisation }
                organisation = name
            }
        case .organisation:
            organisation = id
        case .patient, .operator:
            break
        }
        return Principal(
            kind: kind, id: id, profession: profession, organisation: organisation,
            displayName: attributes(.RDNAttributeType.commonName, of: certificate).first ?? "",
            certificateSerial: serial(certificate.serialNumber.bytes))
    }

    /// The kind and id of the one Dossier URI among the subject alternative names.
    private static func identity(of certificate: Certificate) throws(Violation) -> (PrincipalKind, String) {
        let uris: [String]
        do {
            uris = (try certificate.extensions.subjectAlternativeNames.map { Array($0) } ?? []).compactMap { name in
                if case .uniformResourceIdentifier(let uri) = name,
                    uri.utf8.count >= urnPrefix.utf8.count,
                    uri.prefix(urnPrefix.count).lowercased() == urnPrefix
                {
                    return uri
                }
                return nil
            }
        } catch {
            throw .noIdentity
        }
        guard let uri = uris.first else { throw .noIdentity }
        guard uris.count == 1 else { throw .severalIdentities }
        guard uri.hasPrefix(urnPrefix) else { throw .invalidID }
        let parts = uri.dropFirst(urnPrefix.count).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let kind = PrincipalKind(rawValue: String(parts[0])) else {
            throw parts.count == 2 ? .unknownKind : .invalidID
        }
        guard parts.count == 2, Identifier.isValid(String(parts[1])) else { throw .invalidID }
        return (kind, String(parts[1]))
    }

    static func isProfessionCode(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
    }

    private static func attributes(_ type: ASN1ObjectIdentifier, of certificate: Certificate) -> [String] {
        certificate.subject.flatMap { rdn in
            rdn.filter { $0.type == type }.compactMap { String($0.value) }
        }
    }

    /// Lower-case hex, two digits per byte, without leading zero bytes (as `openssl x509 -serial`).
    static func serial(_ bytes: some Collection<UInt8>) -> String {
        let significant = bytes.drop { $0 == 0 }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in significant.isEmpty ? [0] : Array(significant) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
