import DossierCore
import Foundation

/// Reads back the resources an export wrote (ImportRecord): a DocumentReference becomes the
/// document it was, field by field; other resources are only recognised.
public enum FHIRImport {
    public enum Resource: Sendable {
        case document(Document)
        /// A resource of the export that is not imported (Patient, AuditEvent, Consent).
        case acknowledged(type: String)
    }

    static func invalid(_ message: String) -> DossierError {
        DossierError(.invalidArgument, "resource_json: \(message)", reason: "INVALID_RESOURCE", field: "resource_json")
    }

    public static func resource(_ json: [UInt8], patient: PatientID) throws -> Resource {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw invalid("not a JSON object")
        }
        switch object["resourceType"] as? String {
        case "DocumentReference": return .document(try document(object, patient: patient))
        case let type? where ["Patient", "AuditEvent", "Consent"].contains(type): return .acknowledged(type: type)
        default: throw invalid("not a resource of an export")
        }
    }

    // MARK: Helpers

    static func string(_ object: [String: Any]?, _ key: String) -> String? { object?[key] as? String }

    static func number(_ value: Any?) -> UInt64? {
        if let value = value as? Int, value >= 0 { return UInt64(value) }
        if let value = value as? UInt64 { return value }
        if let value = value as? NSNumber { return value.uint64Value }
        return nil
    }

    static func instant(_ text: String?, _ what: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = FHIRTime.parse(text) else { throw invalid("\(what) is not an instant") }
        return date
    }

    /// The sub-extensions of the extension `url`, by their url.
    static func extensions(_ object: [String: Any]?, _ url: String) -> [String: [String: Any]] {
        let list = object?["extension"] as? [[String: Any]] ?? []
        guard let outer = list.first(where: { $0["url"] as? String == url }) else { return [:] }
        var result: [String: [String: Any]] = [:]
        for inner in outer["extension"] as? [[String: Any]] ?? [] {
            if let key = inner["url"] as? String { result[key] = inner }
        }
        return result
    }

    static func coding(_ value: Any?) -> Coding? {
        guard let object = value as? [String: Any], let system = object["system"] as? String, let code = object["code"] as? String
        else { return nil }
        return Coding(system: system, code: code, display: object["display"] as? String ?? "")
    }

    static func firstCoding(_ concept: Any?) -> Coding? {
        guard let codings = (concept as? [String: Any])?["coding"] as? [Any], !codings.isEmpty else { return nil }
        return coding(codings[0])
    }

    static func principal(_ detail: [String: [String: Any]]) throws -> Principal {
        guard let kind = string(detail["kind"], "valueCode").flatMap(PrincipalKind.init(rawValue:)),
            let id = string(detail["id"], "valueString")
        else { throw invalid("the author's principal extension is missing") }
        return Principal(
            kind: kind, id: id, profession: string(detail["profession"], "valueCode"),
            organisation: string(detail["organisation"], "valueString"),
            displayName: string(detail["displayName"], "valueString") ?? "",
            certificateSerial: string(detail["certificateSerial"], "valueString") ?? "")
    }

    // MARK: DocumentReference

    static func document(_ object: [String: Any], patient: PatientID) throws -> Document {
        guard let id = object["id"] as? String, !id.isEmpty, id.utf8.count <= 64 else { throw invalid("id is missing") }
        let details = extensions(object, FHIRVocabulary.documentExtension)
        let author = try principal(extensions(object, FHIRVocabulary.principalExtension))
        guard let content = (object["content"] as? [[String: Any]])?.first, let attachment = content["attachment"] as? [String: Any]
        else { throw invalid("content.attachment is missing") }
        let sha = (attachment["extension"] as? [[String: Any]] ?? [])
            .first { $0["url"] as? String == FHIRVocabulary.sha256Extension }
            .flatMap { $0["valueBase64Binary"] as? String }.flatMap { Data(base64Encoded: $0) }
        guard let sha, sha.count == 32 else { throw invalid("the attachment's SHA-256 extension is missing") }
        guard let title = object["description"] as? String else { throw invalid("description is missing") }
        guard let typeCode = firstCoding(object["type"]) else { throw invalid("type is missing") }
        let classes = object["category"] as? [Any] ?? []
        guard let classCode = classes.isEmpty ? nil : firstCoding(classes[0]),
            classCode.system == FHIRVocabulary.documentClass, let documentClass = DocumentClass(rawValue: classCode.code)
        else { throw invalid("category has no document class") }
        guard let mimeType = attachment["contentType"] as? String else { throw invalid("attachment.contentType is missing") }
        guard let createdAt = try instant(attachment["creation"] as? String, "creation") else {
            throw invalid("attachment.creation is missing")
        }
        guard let depositedAt = try instant(string(details["depositedAt"], "valueInstant"), "depositedAt") else {
            throw invalid("the depositedAt extension is missing")
        }
        guard let cuid = string(object["masterIdentifier"] as? [String: Any], "value") else {
            throw invalid("masterIdentifier is missing")
        }
        var level: ConfidentialityLevel?
        var categories: Set<SensitiveCategory> = []
        for label in object["securityLabel"] as? [Any] ?? [] {
            guard let code = firstCoding(label) else { continue }
            if code.system == FHIRVocabulary.confidentiality { level = FHIRVocabulary.confidentiality(code: code.code) }
            if code.system == FHIRVocabulary.sensitiveCategory, let category = SensitiveCategory(rawValue: code.code) {
                categories.insert(category)
            }
        }
        guard let level else { throw invalid("securityLabel has no confidentiality") }
        let authorLevel = string(details["authorConfidentiality"], "valueCode").flatMap(FHIRVocabulary.confidentiality(code:)) ?? level
        let context = object["context"] as? [String: Any]
        let period = context?["period"] as? [String: Any]
        let submission = DocumentSubmission(
            clientUniqueID: cuid, title: title, documentClass: documentClass, sensitiveCategories: categories,
            typeCode: typeCode, formatCode: coding(content["format"]), mimeType: mimeType,
            language: attachment["language"] as? String ?? "", createdAt: createdAt,
            serviceStart: try instant(period?["start"] as? String, "period.start"),
            serviceEnd: try instant(period?["end"] as? String, "period.end"),
            facilityType: firstCoding(context?["facilityType"]), practiceSetting: firstCoding(context?["practiceSetting"]),
            confidentiality: authorLevel, hiddenFromPatient: details["hiddenAtDeposit"]?["valueBoolean"] as? Bool ?? false)
        let replaces = ((object["relatesTo"] as? [[String: Any]]) ?? []).first { $0["code"] as? String == "replaces" }
            .flatMap { ($0["target"] as? [String: Any])?["identifier"] as? [String: Any] }.flatMap { $0["value"] as? String }
        guard let size = number(attachment["size"]) else { throw invalid("attachment.size is missing") }
        var document = Document(
            id: id, patientID: patient, submission: submission, author: author, sizeBytes: size,
            sha256: [UInt8](sha), depositedAt: depositedAt, patientSpace: details["patientSpace"]?["valueBoolean"] as? Bool ?? false,
            content: ContentID(id), replacesID: replaces)
        document.confidentiality = level
        document.hiddenFromPatient = false
        document.releasedAt = try instant(string(details["releasedAt"], "valueInstant"), "releasedAt")
        document.status = object["status"] as? String == "current" ? .current : .deprecated
        document.replacedByID = string(details["replacedBy"], "valueString")
        document.deprecationReason = string(details["deprecationReason"], "valueString") ?? ""
        document.deprecatedAt = try instant(string(details["deprecatedAt"], "valueInstant"), "deprecatedAt")
        document.version = string(details["version"], "valueString").flatMap(UInt64.init) ?? 1
        return document
    }
}
