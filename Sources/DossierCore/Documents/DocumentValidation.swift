import Foundation

/// Checks of what a caller submits, before any transaction.
enum DocumentValidation {
    static func check(_ submission: DocumentSubmission, byPatient: Bool, now: Date) throws {
        let id = submission.clientUniqueID
        guard !id.isEmpty else { throw DossierError.missingField("submission.client_unique_id") }
        guard id.utf8.count <= 128, id.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw invalid("client_unique_id must be 1 to 128 printable ASCII characters", "INVALID_CLIENT_UNIQUE_ID", "submission.client_unique_id")
        }
        let title = submission.title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw DossierError.missingField("submission.title") }
        guard submission.title.count <= 256 else {
            throw invalid("title must be at most 256 characters", "TITLE_TOO_LONG", "submission.title")
        }
        guard !submission.typeCode.code.isEmpty, !submission.typeCode.system.isEmpty else {
            throw DossierError.missingField("submission.type_code")
        }
        for coding in [submission.typeCode, submission.formatCode, submission.facilityType, submission.practiceSetting].compactMap({ $0 })
        where coding.system.utf8.count > 256 || coding.code.utf8.count > 256 || coding.display.utf8.count > 512 {
            throw invalid("a coding is too long (system and code 256 bytes, display 512)", "CODING_TOO_LONG", "submission")
        }
        guard isMediaType(submission.mimeType) else {
            throw invalid("mime_type must be a media type such as application/pdf", "INVALID_MIME_TYPE", "submission.mime_type")
        }
        guard submission.language.utf8.count <= 35 else {
            throw invalid("language must be a BCP 47 tag", "INVALID_LANGUAGE", "submission.language")
        }
        guard submission.createdAt <= now + 24 * 3_600 else {
            throw invalid("created_at is in the future", "INVALID_TIME", "submission.created_at")
        }
        if let start = submission.serviceStart, let end = submission.serviceEnd, end < start {
            throw invalid("service_end is before service_start", "INVALID_TIME", "submission.service_end")
        }
        if byPatient {
            guard submission.documentClass == .patientProvided else {
                throw invalid(
                    "documents of the patient's personal space are of class PATIENT_PROVIDED", "PATIENT_SPACE_CLASS",
                    "submission.document_class")
            }
            guard !submission.hiddenFromPatient else {
                throw DossierError(
                    .invalidArgument, "the patient cannot hide a document from themselves", reason: "UNEXPECTED_FIELD",
                    field: "submission.hidden_from_patient")
            }
        }
    }

    static func checkContent(_ content: [UInt8], max: Int) throws {
        guard !content.isEmpty else { throw invalid("content is empty", "EMPTY_CONTENT", "content") }
        guard content.count <= max else {
            throw invalid("content is larger than \(max) bytes: use an upload (CreateUpload)", "CONTENT_TOO_LARGE", "content")
        }
    }

    static func checkHash(_ hash: [UInt8]?, field: String) throws {
        if let hash, hash.count != 32 {
            throw invalid("\(field) must be 32 bytes (SHA-256)", "INVALID_HASH", field)
        }
    }

    static func checkDocumentID(_ id: String, field: String = "document_id") throws {
        guard !id.isEmpty else { throw DossierError.missingField(field) }
    }

    private static func isMediaType(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard value.utf8.count <= 127, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        return value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }
    }

    static func invalid(_ message: String, _ reason: String, _ field: String) -> DossierError {
        DossierError(.invalidArgument, message, reason: reason, field: field)
    }
}
