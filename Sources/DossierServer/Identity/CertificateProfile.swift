import DossierCore
import SwiftASN1
import X509

/// Reads a client certificate as the Dossier certificate profile (docs/PROTOCOL.md):
/// exactly one URI SAN `urn:dossier:<kind>:<id>`, CN = display name, OU = profession
/// (required for professionals), O = organisation.
public enum CertificateProfile {
    /// Why a verified certificate cannot be used as a Dossier identity.
    public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let urnPrefix = "urn:dossier:"

    public static func principal(from certificate: Certificate) throws(Violation) -> Principal {
        let uris: [String]
        do {
            uris = (try certificate.extensions.subjectAlternativeNames.map { Array($0) } ?? []).compactMap { name in
                if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix(urnPrefix) { return uri }
                return nil
            }
        } catch {
            throw Violation(description: "certificate has an unreadable subjectAltName extension")
        }
        guard uris.count == 1, let uri = uris.first else {
            throw Violation(description: "certificate must carry exactly one urn:dossier:<kind>:<id> URI SAN")
        }
        let parts = uri.dropFirst(urnPrefix.count).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let kind = PrincipalKind(rawValue: String(parts[0])) else {
            throw Violation(description: "certificate URI SAN names an unknown kind")
        }
        let id = String(parts[1])
        guard Identifier.isValid(id) else {
            throw Violation(description: "certificate URI SAN carries an invalid id")
        }
        let profession = attribute(.RDNAttributeType.organizationalUnitName, of: certificate)
        if kind == .professional {
            guard let profession, isProfessionCode(profession) else {
                throw Violation(description: "a professional certificate needs a profession code in OU")
            }
        }
        return Principal(
            kind: kind, id: id, profession: kind == .professional ? profession : nil,
            organisation: attribute(.RDNAttributeType.organizationName, of: certificate),
            displayName: attribute(.RDNAttributeType.commonName, of: certificate) ?? "",
            certificateSerial: hex(certificate.serialNumber.bytes))
    }

    static func isProfessionCode(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
    }

    private static func attribute(_ type: ASN1ObjectIdentifier, of certificate: Certificate) -> String? {
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == type {
                if let value = String(attribute.value), !value.isEmpty { return value }
            }
        }
        return nil
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
