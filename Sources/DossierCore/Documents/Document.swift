import Foundation

/// The kind of a document (IHE XDS classCode), coarse enough for the profession matrix.
public enum DocumentClass: String, Sendable, Hashable, CaseIterable, Codable {
    case report, summary, imaging, prescription, dispensation, carePlan, administeredTreatment
    case labResult, certificate, patientProvided, administrative
}

/// A sensitive domain of care, orthogonal to the class (a psychiatric report is a report with
/// the psychiatry category).
public enum SensitiveCategory: String, Sendable, Hashable, CaseIterable, Codable {
    case psychiatry, sexualHealth, genetics, addiction, reproductiveHealth
}

/// Confidentiality level (Swiss EPD model). "Masking" a document sets it secret.
public enum ConfidentialityLevel: Int, Sendable, Hashable, CaseIterable, Comparable {
    case normal = 1, restricted = 2, secret = 3

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum DocumentStatus: String, Sendable, Hashable, CaseIterable {
    /// The document in force.
    case current
    /// Replaced by a newer version or deprecated with a reason; still readable.
    case deprecated
}

/// A coded value (FHIR Coding / XDS code). `display` is informative, never matched.
public struct Coding: Sendable, Hashable {
    public var system: String
    public var code: String
    public var display: String

    public init(system: String, code: String, display: String = "") {
        self.system = system
        self.code = code
        self.display = display
    }
}

/// The metadata a depositor supplies for a new document.
public struct DocumentSubmission: Sendable, Hashable {
    public var clientUniqueID: String
    public var title: String
    public var documentClass: DocumentClass
    public var sensitiveCategories: Set<SensitiveCategory>
    public var typeCode: Coding
    public var formatCode: Coding?
    public var mimeType: String
    public var language: String
    public var createdAt: Date
    public var serviceStart: Date?
    public var serviceEnd: Date?
    public var facilityType: Coding?
    public var practiceSetting: Coding?
    public var confidentiality: ConfidentialityLevel
    public var hiddenFromPatient: Bool

    public init(
        clientUniqueID: String, title: String, documentClass: DocumentClass,
        sensitiveCategories: Set<SensitiveCategory> = [], typeCode: Coding, formatCode: Coding? = nil,
        mimeType: String, language: String = "", createdAt: Date, serviceStart: Date? = nil, serviceEnd: Date? = nil,
        facilityType: Coding? = nil, practiceSetting: Coding? = nil, confidentiality: ConfidentialityLevel = .normal,
        hiddenFromPatient: Bool = false
    ) {
        self.clientUniqueID = clientUniqueID
        self.title = title
        self.documentClass = documentClass
        self.sensitiveCategories = sensitiveCategories
        self.typeCode = typeCode
        self.formatCode = formatCode
        self.mimeType = mimeType
        self.language = language
        self.createdAt = createdAt
        self.serviceStart = serviceStart
        self.serviceEnd = serviceEnd
        self.facilityType = facilityType
        self.practiceSetting = practiceSetting
        self.confidentiality = confidentiality
        self.hiddenFromPatient = hiddenFromPatient
    }
}

/// Where a document's content lives: the id of its blob (a deposit's own, or the upload
/// session's whose chunks became the content).
public struct ContentID: Sendable, Hashable {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// A document's metadata as the record holds it (IHE XDS DocumentEntry).
public struct Document: Sendable, Hashable {
    /// Server-assigned; sorts in deposit order within a record.
    public let id: String
    public let patientID: PatientID
    public var submission: DocumentSubmission
    /// Who deposited it (for personal-space documents: the patient or their delegate).
    public let author: Principal
    public var confidentiality: ConfidentialityLevel
    public var hiddenFromPatient: Bool
    public var releasedAt: Date?
    public var status: DocumentStatus
    public var replacesID: String?
    public var replacedByID: String?
    public var deprecationReason: String
    public var deprecatedAt: Date?
    public let sizeBytes: UInt64
    public let sha256: [UInt8]
    public let depositedAt: Date
    public let patientSpace: Bool
    public var version: UInt64
    public let content: ContentID
    /// The record's deposit number of this document (1, 2, …), for deposit order. Never shown
    /// to callers: ids are random and say nothing of other documents.
    public var depositSequence: UInt64 = 0

    public init(
        id: String, patientID: PatientID, submission: DocumentSubmission, author: Principal, sizeBytes: UInt64,
        sha256: [UInt8], depositedAt: Date, patientSpace: Bool, content: ContentID, replacesID: String? = nil
    ) {
        self.id = id
        self.patientID = patientID
        self.submission = submission
        self.author = author
        self.confidentiality = submission.confidentiality
        self.hiddenFromPatient = submission.hiddenFromPatient
        self.status = .current
        self.replacesID = replacesID
        self.deprecationReason = ""
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.depositedAt = depositedAt
        self.patientSpace = patientSpace
        self.version = 1
        self.content = content
    }

    public var documentClass: DocumentClass { submission.documentClass }
    /// The level the author chose at deposit (restored when the patient unmasks).
    public var authorConfidentiality: ConfidentialityLevel { submission.confidentiality }

    /// Whether `principal` deposited this document (same kind and id; a delegate's deposit in
    /// the personal space belongs to the delegate as author).
    public func isAuthored(by principal: Principal) -> Bool {
        author.kind == principal.kind && author.id == principal.id
    }
}
