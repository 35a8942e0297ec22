import DossierCore
import Foundation

/// The code systems and extension URLs of the export (docs/FHIR-MAPPING.md).
public enum FHIRVocabulary {
    /// Dossier's own extensions: `<base><name>`.
    public static let extensionBase = "urn:dossier:fhir:StructureDefinition:"
    public static let sha256Extension = extensionBase + "attachment-sha256"
    public static let documentExtension = extensionBase + "document"
    public static let principalExtension = extensionBase + "principal"
    public static let recordExtension = extensionBase + "record"
    public static let logEntryExtension = extensionBase + "log-entry"
    public static let grantExtension = extensionBase + "grant"

    public static let confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    public static let actReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    public static let dicom = "http://dicom.nema.org/resources/ontology/DCM"
    public static let documentClass = "urn:dossier:document-class"
    public static let sensitiveCategory = "urn:dossier:sensitive-category"
    public static let accessOperation = "urn:dossier:access-operation"
    public static let principalKind = "urn:dossier:principal-kind"
    public static let profession = "urn:dossier:profession"
    public static let consentKind = "urn:dossier:consent-kind"
    public static let documentID = "urn:dossier:document-id"
    public static let clientUniqueID = "urn:dossier:client-unique-id"
    public static let patientID = "urn:dossier:patient"

    /// The identifier system of a principal's id: `urn:dossier:<kind>`.
    public static func principalSystem(_ kind: PrincipalKind) -> String { "urn:dossier:\(kind.rawValue)" }

    static func confidentialityCode(_ level: ConfidentialityLevel) -> String {
        switch level {
        case .normal: "N"
        case .restricted: "R"
        case .secret: "V"
        }
    }

    static func confidentiality(code: String) -> ConfidentialityLevel? {
        switch code {
        case "N": .normal
        case "R": .restricted
        case "V": .secret
        default: nil
        }
    }

    /// The FHIR resource type a principal's reference points to.
    static func resourceType(_ kind: PrincipalKind) -> String {
        switch kind {
        case .patient: "Patient"
        case .professional: "Practitioner"
        case .organisation: "Organization"
        case .operator: "Device"
        }
    }

    /// A deterministic `urn:uuid:` for a resource of the export (version-8 UUID over two FNV-1a
    /// hashes of its type and id): references between entries need no table.
    public static func fullURL(_ type: String, _ id: String) -> String {
        let name = Array("\(type)/\(id)".utf8)
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash: UInt64 = seed
            for byte in name {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            return hash
        }
        var bytes: [UInt8] = []
        for value in [fnv(0xcbf2_9ce4_8422_2325), fnv(0x84222325_cbf29ce4)] {
            withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let digits = Array("0123456789abcdef".utf8)
        let hex = String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return "urn:uuid:" + parts.joined(separator: "-")
    }
}
