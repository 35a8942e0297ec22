import DossierCore
import Foundation

/// Documents and upload sessions ⇄ their stored protobuf form.
enum DocumentCodec {
    static func encode(_ document: Document) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredDocument()
        stored.id = document.id
        stored.patientID = document.patientID.rawValue
        stored.submission = encode(document.submission)
        stored.author = ActorCodec.encode(document.author)
        stored.confidentiality = UInt32(document.confidentiality.rawValue)
        stored.hiddenFromPatient = document.hiddenFromPatient
        stored.releasedAtUs = Time.micros(document.releasedAt)
        stored.status = document.status.rawValue
        stored.replacesID = document.replacesID ?? ""
        stored.replacedByID = document.replacedByID ?? ""
        stored.deprecationReason = document.deprecationReason
        stored.deprecatedAtUs = Time.micros(document.deprecatedAt)
        stored.sizeBytes = document.sizeBytes
        stored.sha256 = Data(document.sha256)
        stored.depositedAtUs = Time.micros(document.depositedAt)
        stored.patientSpace = document.patientSpace
        stored.version = document.version
        stored.contentID = document.content.rawValue
        stored.depositSequence = document.depositSequence
        return try stored.serializedBytes()
    }

    static func decodeDocument(_ bytes: some ContiguousBytes) throws -> Document {
        let stored = try Dossier_Storage_V1_StoredDocument(serializedBytes: bytes)
        guard let patient = PatientID(rawValue: stored.patientID),
            let confidentiality = ConfidentialityLevel(rawValue: Int(stored.confidentiality)),
            let status = DocumentStatus(rawValue: stored.status)
        else { throw CorruptValueError(family: Keys.Family.documents) }
        var document = Document(
            id: stored.id, patientID: patient, submission: try decode(stored.submission),
            author: try ActorCodec.decode(stored.author), sizeBytes: stored.sizeBytes, sha256: [UInt8](stored.sha256),
            depositedAt: Time.date(stored.depositedAtUs) ?? Date(timeIntervalSince1970: 0),
            patientSpace: stored.patientSpace, content: ContentID(stored.contentID),
            replacesID: stored.replacesID.nilIfEmpty)
        document.confidentiality = confidentiality
        document.hiddenFromPatient = stored.hiddenFromPatient
        document.releasedAt = Time.date(stored.releasedAtUs)
        document.status = status
        document.replacedByID = stored.replacedByID.nilIfEmpty
        document.deprecationReason = stored.deprecationReason
        document.deprecatedAt = Time.date(stored.deprecatedAtUs)
        document.version = stored.version
        document.depositSequence = stored.depositSequence
        return document
    }

    static func encode(_ upload: UploadSession) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredUpload()
        stored.id = upload.id
        stored.patientID = upload.patientID.rawValue
        stored.creator = ActorCodec.encode(upload.creator)
        stored.submission = encode(upload.submission)
        stored.declaredSize = upload.declaredSize
        stored.committedSize = upload.committedSize
        stored.expectedSha256 = Data(upload.expectedSHA256 ?? [])
        stored.createdAtUs = Time.micros(upload.createdAt)
        stored.expiresAtUs = Time.micros(upload.expiresAt)
        stored.state = upload.state.rawValue
        stored.documentID = upload.documentID ?? ""
        stored.replacesDocumentID = upload.replacesDocumentID ?? ""
        stored.contentID = upload.content.rawValue
        return try stored.serializedBytes()
    }

    static func decodeUpload(_ bytes: some ContiguousBytes) throws -> UploadSession {
        let stored = try Dossier_Storage_V1_StoredUpload(serializedBytes: bytes)
        guard let patient = PatientID(rawValue: stored.patientID), let state = UploadSession.State(rawValue: stored.state)
        else { throw CorruptValueError(family: Keys.Family.documents) }
        var upload = UploadSession(
            id: stored.id, patientID: patient, creator: try ActorCodec.decode(stored.creator),
            submission: try decode(stored.submission), declaredSize: stored.declaredSize,
            expectedSHA256: stored.expectedSha256.isEmpty ? nil : [UInt8](stored.expectedSha256),
            createdAt: Time.date(stored.createdAtUs) ?? Date(timeIntervalSince1970: 0),
            expiresAt: Time.date(stored.expiresAtUs) ?? Date(timeIntervalSince1970: 0),
            replacesDocumentID: stored.replacesDocumentID.nilIfEmpty, content: ContentID(stored.contentID))
        upload.committedSize = stored.committedSize
        upload.state = state
        upload.documentID = stored.documentID.nilIfEmpty
        return upload
    }

    private static func encode(_ submission: DocumentSubmission) -> Dossier_Storage_V1_StoredSubmission {
        var stored = Dossier_Storage_V1_StoredSubmission()
        stored.clientUniqueID = submission.clientUniqueID
        stored.title = submission.title
        stored.documentClass = submission.documentClass.rawValue
        stored.sensitiveCategories = submission.sensitiveCategories.map(\.rawValue).sorted()
        stored.typeCode = encode(submission.typeCode)
        if let format = submission.formatCode { stored.formatCode = encode(format) }
        stored.mimeType = submission.mimeType
        stored.language = submission.language
        stored.createdAtUs = Time.micros(submission.createdAt)
        stored.serviceStartUs = Time.micros(submission.serviceStart)
        stored.serviceEndUs = Time.micros(submission.serviceEnd)
        if let facility = submission.facilityType { stored.facilityType = encode(facility) }
        if let setting = submission.practiceSetting { stored.practiceSetting = encode(setting) }
        stored.confidentiality = UInt32(submission.confidentiality.rawValue)
        stored.hiddenFromPatient = submission.hiddenFromPatient
        return stored
    }

    private static func decode(_ stored: Dossier_Storage_V1_StoredSubmission) throws -> DocumentSubmission {
        guard let documentClass = DocumentClass(rawValue: stored.documentClass),
            let confidentiality = ConfidentialityLevel(rawValue: Int(stored.confidentiality))
        else { throw CorruptValueError(family: Keys.Family.documents) }
        let categories = try stored.sensitiveCategories.map { raw in
            guard let category = SensitiveCategory(rawValue: raw) else { throw CorruptValueError(family: Keys.Family.documents) }
            return category
        }
        return DocumentSubmission(
            clientUniqueID: stored.clientUniqueID, title: stored.title, documentClass: documentClass,
            sensitiveCategories: Set(categories), typeCode: decode(stored.typeCode),
            formatCode: stored.hasFormatCode ? decode(stored.formatCode) : nil, mimeType: stored.mimeType,
            language: stored.language, createdAt: Time.date(stored.createdAtUs) ?? Date(timeIntervalSince1970: 0),
            serviceStart: Time.date(stored.serviceStartUs), serviceEnd: Time.date(stored.serviceEndUs),
            facilityType: stored.hasFacilityType ? decode(stored.facilityType) : nil,
            practiceSetting: stored.hasPracticeSetting ? decode(stored.practiceSetting) : nil,
            confidentiality: confidentiality, hiddenFromPatient: stored.hiddenFromPatient)
    }

    private static func encode(_ coding: Coding) -> Dossier_Storage_V1_StoredCoding {
        var stored = Dossier_Storage_V1_StoredCoding()
        stored.system = coding.system
        stored.code = coding.code
        stored.display = coding.display
        return stored
    }

    private static func decode(_ stored: Dossier_Storage_V1_StoredCoding) -> Coding {
        Coding(system: stored.system, code: stored.code, display: stored.display)
    }
}
