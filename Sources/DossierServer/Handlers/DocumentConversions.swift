import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// Document domain values ⇄ API messages. Enum values from clients are checked here: an
/// unknown value is INVALID_ENUM, an unset required one MISSING_FIELD.
extension DocumentClass {
    private static let table: [(Dossier_V1_DocumentClass, DocumentClass)] = [
        (.report, .report), (.summary, .summary), (.imaging, .imaging), (.prescription, .prescription),
        (.dispensation, .dispensation), (.carePlan, .carePlan), (.administeredTreatment, .administeredTreatment),
        (.labResult, .labResult), (.certificate, .certificate), (.patientProvided, .patientProvided),
        (.administrative, .administrative),
    ]

    init(_ value: Dossier_V1_DocumentClass, field: String) throws {
        if value == .unspecified { throw DossierError.missingField(field) }
        guard let match = Self.table.first(where: { $0.0 == value }) else { throw invalidEnum(field) }
        self = match.1
    }

    var api: Dossier_V1_DocumentClass { Self.table.first { $0.1 == self }!.0 }
}

extension SensitiveCategory {
    private static let table: [(Dossier_V1_SensitiveCategory, SensitiveCategory)] = [
        (.psychiatry, .psychiatry), (.sexualHealth, .sexualHealth), (.genetics, .genetics), (.addiction, .addiction),
        (.reproductiveHealth, .reproductiveHealth),
    ]

    init(_ value: Dossier_V1_SensitiveCategory, field: String) throws {
        guard let match = Self.table.first(where: { $0.0 == value }) else { throw invalidEnum(field) }
        self = match.1
    }

    var api: Dossier_V1_SensitiveCategory { Self.table.first { $0.1 == self }!.0 }
}

extension ConfidentialityLevel {
    /// `unspecifiedMeans`: the level an unset value stands for (nil: required).
    init(_ value: Dossier_V1_ConfidentialityLevel, field: String, unspecifiedMeans: ConfidentialityLevel?) throws {
        switch value {
        case .normal: self = .normal
        case .restricted: self = .restricted
        case .secret: self = .secret
        case .unspecified:
            guard let unspecifiedMeans else { throw DossierError.missingField(field) }
            self = unspecifiedMeans
        case .UNRECOGNIZED: throw invalidEnum(field)
        }
    }

    var api: Dossier_V1_ConfidentialityLevel {
        switch self {
        case .normal: .normal
        case .restricted: .restricted
        case .secret: .secret
        }
    }
}

extension DocumentStatus {
    init(_ value: Dossier_V1_DocumentStatus, field: String) throws {
        switch value {
        case .current: self = .current
        case .deprecated: self = .deprecated
        default: throw invalidEnum(field)
        }
    }

    var api: Dossier_V1_DocumentStatus { self == .current ? .current : .deprecated }
}

private func invalidEnum(_ field: String) -> DossierError {
    DossierError(.invalidArgument, "unknown value of \(field)", reason: "INVALID_ENUM", field: field)
}

extension Coding {
    init(_ coding: Dossier_V1_Coding) {
        self.init(system: coding.system, code: coding.code, display: coding.display)
    }

    var api: Dossier_V1_Coding {
        .with {
            $0.system = system
            $0.code = code
            $0.display = display
        }
    }
}

extension DocumentSubmission {
    init(_ submission: Dossier_V1_DocumentSubmission, present: Bool) throws {
        guard present else { throw DossierError.missingField("submission") }
        guard submission.hasCreatedAt else { throw DossierError.missingField("submission.created_at") }
        guard submission.hasTypeCode else { throw DossierError.missingField("submission.type_code") }
        self.init(
            clientUniqueID: submission.clientUniqueID, title: submission.title,
            documentClass: try DocumentClass(submission.documentClass, field: "submission.document_class"),
            sensitiveCategories: Set(try submission.sensitiveCategories.map {
                try SensitiveCategory($0, field: "submission.sensitive_categories")
            }),
            typeCode: Coding(submission.typeCode),
            formatCode: submission.hasFormatCode ? Coding(submission.formatCode) : nil,
            mimeType: submission.mimeType, language: submission.language, createdAt: submission.createdAt.date,
            serviceStart: submission.hasServiceStart ? submission.serviceStart.date : nil,
            serviceEnd: submission.hasServiceEnd ? submission.serviceEnd.date : nil,
            facilityType: submission.hasFacilityType ? Coding(submission.facilityType) : nil,
            practiceSetting: submission.hasPracticeSetting ? Coding(submission.practiceSetting) : nil,
            confidentiality: try ConfidentialityLevel(
                submission.confidentiality, field: "submission.confidentiality", unspecifiedMeans: .normal),
            hiddenFromPatient: submission.hiddenFromPatient)
    }
}

extension Dossier_V1_Document {
    init(_ document: Document) {
        self.init()
        let submission = document.submission
        documentID = document.id
        patientID = document.patientID.rawValue
        clientUniqueID = submission.clientUniqueID
        title = submission.title
        documentClass = submission.documentClass.api
        sensitiveCategories = submission.sensitiveCategories.map(\.api).sorted { $0.rawValue < $1.rawValue }
        typeCode = submission.typeCode.api
        if let format = submission.formatCode { formatCode = format.api }
        mimeType = submission.mimeType
        language = submission.language
        createdAt = Google_Protobuf_Timestamp(date: submission.createdAt)
        if let date = submission.serviceStart { serviceStart = Google_Protobuf_Timestamp(date: date) }
        if let date = submission.serviceEnd { serviceEnd = Google_Protobuf_Timestamp(date: date) }
        author = Dossier_V1_Actor(document.author)
        if let facility = submission.facilityType { facilityType = facility.api }
        if let setting = submission.practiceSetting { practiceSetting = setting.api }
        confidentiality = document.confidentiality.api
        authorConfidentiality = document.authorConfidentiality.api
        hiddenFromPatient = document.hiddenFromPatient
        if let date = document.releasedAt { releasedAt = Google_Protobuf_Timestamp(date: date) }
        status = document.status.api
        replacesDocumentID = document.replacesID ?? ""
        replacedByDocumentID = document.replacedByID ?? ""
        deprecationReason = document.deprecationReason
        if let date = document.deprecatedAt { deprecatedAt = Google_Protobuf_Timestamp(date: date) }
        sizeBytes = document.sizeBytes
        sha256 = Data(document.sha256)
        depositedAt = Google_Protobuf_Timestamp(date: document.depositedAt)
        patientSpace = document.patientSpace
        version = document.version
    }
}

extension Dossier_V1_UploadSession {
    init(_ session: UploadSession, maxChunk: Int) {
        self.init()
        uploadID = session.id
        patientID = session.patientID.rawValue
        state = session.state == .open ? .open : .completed
        clientUniqueID = session.submission.clientUniqueID
        declaredSize = session.declaredSize
        committedSize = session.committedSize
        expectedSha256 = Data(session.expectedSHA256 ?? [])
        maxChunkSize = UInt32(maxChunk)
        createdAt = Google_Protobuf_Timestamp(date: session.createdAt)
        expiresAt = Google_Protobuf_Timestamp(date: session.expiresAt)
        documentID = session.documentID ?? ""
        replacesDocumentID = session.replacesDocumentID ?? ""
    }
}

extension DocumentFilter {
    init(_ request: Dossier_V1_FindDocumentsRequest) throws {
        self.init()
        classes = Set(try request.documentClasses.map { try DocumentClass($0, field: "document_classes") })
        typeCodes = request.typeCodes.map(Coding.init)
        if request.hasCreatedFrom { createdFrom = request.createdFrom.date }
        if request.hasCreatedTo { createdTo = request.createdTo.date }
        if request.hasDepositedFrom { depositedFrom = request.depositedFrom.date }
        if request.hasDepositedTo { depositedTo = request.depositedTo.date }
        authorIDs = Set(request.authorIds)
        statuses = Set(try request.statuses.map { try DocumentStatus($0, field: "statuses") })
        confidentialityLevels = Set(try request.confidentialityLevels.map {
            try ConfidentialityLevel($0, field: "confidentiality_levels", unspecifiedMeans: nil)
        })
        patientSpace = switch request.patientSpace {
        case .unspecified: .any
        case .only: .only
        case .exclude: .exclude
        case .UNRECOGNIZED: throw invalidEnum("patient_space")
        }
    }
}
