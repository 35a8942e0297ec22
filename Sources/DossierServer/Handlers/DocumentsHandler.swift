import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Documents`: deposit, uploads, reading, versions, confidentiality, search.
struct DocumentsHandler: Dossier_V1_DocumentsService {
    let documents: DocumentService

    private var maxChunk: Int { documents.policy.maxChunk }

    func depositDocument(_ request: Dossier_V1_DepositDocumentRequest, context: CallContext) async throws -> Dossier_V1_DepositDocumentResponse {
        let patient = try PatientID(validating: request.patientID)
        let submission = try DocumentSubmission(request.submission, present: request.hasSubmission)
        let (document, existed) = try await documents.deposit(
            patient, submission, content: [UInt8](request.content), expectedSHA256: hash(request.expectedSha256),
            by: context.principal)
        return .with {
            $0.document = Dossier_V1_Document(document)
            $0.alreadyExisted = existed
        }
    }

    func createUpload(_ request: Dossier_V1_CreateUploadRequest, context: CallContext) async throws -> Dossier_V1_CreateUploadResponse {
        let patient = try PatientID(validating: request.patientID)
        let submission = try DocumentSubmission(request.submission, present: request.hasSubmission)
        let start = try await documents.createUpload(
            patient, submission, declaredSize: request.declaredSize, expectedSHA256: hash(request.expectedSha256),
            replaces: request.replacesDocumentID.isEmpty ? nil : request.replacesDocumentID, by: context.principal)
        let maxChunk = self.maxChunk
        return .with {
            switch start {
            case .session(let session): $0.upload = Dossier_V1_UploadSession(session, maxChunk: maxChunk)
            case .existingDocument(let document): $0.existingDocument = Dossier_V1_Document(document)
            }
        }
    }

    func uploadChunk(_ request: Dossier_V1_UploadChunkRequest, context: CallContext) async throws -> Dossier_V1_UploadChunkResponse {
        let session = try await documents.appendChunk(
            uploadID: request.uploadID, offset: request.offset, data: [UInt8](request.data), by: context.principal)
        return .with {
            $0.committedSize = session.committedSize
            $0.expiresAt = Google_Protobuf_Timestamp(date: session.expiresAt)
        }
    }

    func getUpload(_ request: Dossier_V1_GetUploadRequest, context: CallContext) async throws -> Dossier_V1_GetUploadResponse {
        let session = try await documents.upload(request.uploadID, by: context.principal)
        let maxChunk = self.maxChunk
        return .with { $0.upload = Dossier_V1_UploadSession(session, maxChunk: maxChunk) }
    }

    func completeUpload(_ request: Dossier_V1_CompleteUploadRequest, context: CallContext) async throws -> Dossier_V1_CompleteUploadResponse {
        guard !request.uploadID.isEmpty else { throw DossierError.missingField("upload_id") }
        let (document, completed) = try await documents.completeUpload(
            request.uploadID, expectedSHA256: hash(request.expectedSha256), by: context.principal)
        return .with {
            $0.document = Dossier_V1_Document(document)
            $0.alreadyCompleted = completed
        }
    }

    func abortUpload(_ request: Dossier_V1_AbortUploadRequest, context: CallContext) async throws -> Dossier_V1_AbortUploadResponse {
        guard !request.uploadID.isEmpty else { throw DossierError.missingField("upload_id") }
        try await documents.abortUpload(request.uploadID, by: context.principal)
        return .init()
    }

    func getDocument(_ request: Dossier_V1_GetDocumentRequest, context: CallContext) async throws -> Dossier_V1_GetDocumentResponse {
        let document = try await documents.get(
            try PatientID(validating: request.patientID), documentID: request.documentID, by: context.principal)
        return .with { $0.document = Dossier_V1_Document(document) }
    }

    func readDocumentContent(_ request: Dossier_V1_ReadDocumentContentRequest, context: CallContext) async throws -> Dossier_V1_ReadDocumentContentResponse {
        let range = try await documents.read(
            try PatientID(validating: request.patientID), documentID: request.documentID, offset: request.offset,
            length: Int(request.length), by: context.principal)
        return .with {
            $0.data = Data(range.data)
            $0.offset = range.offset
            $0.totalSize = range.totalSize
            $0.sha256 = Data(range.sha256)
            $0.eof = range.eof
            $0.mimeType = range.mimeType
        }
    }

    func replaceDocument(_ request: Dossier_V1_ReplaceDocumentRequest, context: CallContext) async throws -> Dossier_V1_ReplaceDocumentResponse {
        let patient = try PatientID(validating: request.patientID)
        let submission = try DocumentSubmission(request.submission, present: request.hasSubmission)
        let (document, replaced, existed) = try await documents.replace(
            patient, documentID: request.documentID, with: submission, content: [UInt8](request.content),
            expectedSHA256: hash(request.expectedSha256), by: context.principal)
        return .with {
            $0.document = Dossier_V1_Document(document)
            $0.replaced = Dossier_V1_Document(replaced)
            $0.alreadyExisted = existed
        }
    }

    func deprecateDocument(_ request: Dossier_V1_DeprecateDocumentRequest, context: CallContext) async throws -> Dossier_V1_DeprecateDocumentResponse {
        let document = try await documents.deprecate(
            try PatientID(validating: request.patientID), documentID: request.documentID, reason: request.reason,
            by: context.principal)
        return .with { $0.document = Dossier_V1_Document(document) }
    }

    func setDocumentConfidentiality(_ request: Dossier_V1_SetDocumentConfidentialityRequest, context: CallContext) async throws -> Dossier_V1_SetDocumentConfidentialityResponse {
        let patient = try PatientID(validating: request.patientID)
        let level = try ConfidentialityLevel(request.confidentiality, field: "confidentiality", unspecifiedMeans: nil)
        let document = try await documents.setConfidentiality(
            patient, documentID: request.documentID, level: level, by: context.principal)
        return .with { $0.document = Dossier_V1_Document(document) }
    }

    func hideDocumentFromPatient(_ request: Dossier_V1_HideDocumentFromPatientRequest, context: CallContext) async throws -> Dossier_V1_HideDocumentFromPatientResponse {
        let document = try await documents.setHiddenFromPatient(
            try PatientID(validating: request.patientID), documentID: request.documentID, hidden: true, by: context.principal)
        return .with { $0.document = Dossier_V1_Document(document) }
    }

    func releaseDocumentToPatient(_ request: Dossier_V1_ReleaseDocumentToPatientRequest, context: CallContext) async throws -> Dossier_V1_ReleaseDocumentToPatientResponse {
        let document = try await documents.setHiddenFromPatient(
            try PatientID(validating: request.patientID), documentID: request.documentID, hidden: false, by: context.principal)
        return .with { $0.document = Dossier_V1_Document(document) }
    }

    func findDocuments(_ request: Dossier_V1_FindDocumentsRequest, context: CallContext) async throws -> Dossier_V1_FindDocumentsResponse {
        let patient = try PatientID(validating: request.patientID)
        let filter = try DocumentFilter(request)
        let size = Page.size(request.pageSize)
        let after = try context.pageTokens.position(of: request, context: context).map(PagePosition.decodeUInt64)
        let (page, more) = try await documents.find(
            patient, filter: filter, oldestFirst: request.oldestFirst, after: after, limit: size, by: context.principal)
        let next = more ? try context.pageTokens.make(PagePosition.encode(page.last?.depositSequence ?? 0), for: request, context: context) : ""
        return .with {
            $0.documents = page.map(Dossier_V1_Document.init)
            $0.nextPageToken = next
        }
    }

    func getRecordOverview(_ request: Dossier_V1_GetRecordOverviewRequest, context: CallContext) async throws -> Dossier_V1_GetRecordOverviewResponse {
        let patient = try PatientID(validating: request.patientID)
        let size = Page.size(request.pageSize)
        let after = try context.pageTokens.position(of: request, context: context).map(Self.timelineCursor)
        let overview = try await documents.overview(
            patient, includeDeprecated: request.includeDeprecated, after: after, limit: size, by: context.principal)
        let next = try overview.next.map { last in
            try context.pageTokens.make(
                PagePosition.encode(UInt64(bitPattern: Int64((last.submission.createdAt.timeIntervalSince1970 * 1_000_000).rounded())))
                    + Array(last.id.utf8), for: request, context: context)
        } ?? ""
        return .with {
            $0.classCounts = overview.classCounts.map { count in
                .with {
                    $0.documentClass = count.documentClass.api
                    $0.documentCount = count.count
                    $0.latestCreatedAt = Google_Protobuf_Timestamp(date: count.latestCreatedAt)
                }
            }
            $0.visibleDocuments = overview.visibleDocuments
            $0.patientSpaceDocuments = overview.patientSpaceDocuments
            if let date = overview.earliestCreatedAt { $0.earliestCreatedAt = Google_Protobuf_Timestamp(date: date) }
            if let date = overview.latestCreatedAt { $0.latestCreatedAt = Google_Protobuf_Timestamp(date: date) }
            $0.timeline = overview.timeline.map(Dossier_V1_Document.init)
            $0.nextPageToken = next
        }
    }

    // MARK: -

    private func hash(_ data: Data) -> [UInt8]? {
        data.isEmpty ? nil : [UInt8](data)
    }

    /// An overview position: created_at of the last entry (Unix µs, i64) ‖ its document id.
    private static func timelineCursor(_ position: [UInt8]) throws -> (createdAt: Date, id: String) {
        guard position.count > 8 else { throw PageTokens.invalid }
        let micros = Int64(bitPattern: try PagePosition.decodeUInt64(Array(position.prefix(8))))
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), String(decoding: position.dropFirst(8), as: UTF8.self))
    }

}
