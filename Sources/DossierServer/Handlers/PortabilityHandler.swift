import DossierCore
import DossierFHIR
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Portability`: the record's export in FHIR R4 (page by page) and its import.
struct PortabilityHandler: Dossier_V1_PortabilityService {
    let export: ExportService
    let documents: DocumentService

    static let maxResource = 1 << 20

    func exportRecord(_ request: Dossier_V1_ExportRecordRequest, context: CallContext) async throws -> Dossier_V1_ExportRecordResponse {
        let patient = try PatientID(validating: request.patientID)
        let cursor = try context.pageTokens.position(of: request, context: context).map { bytes in
            guard let cursor = ExportCursor(bytes: bytes) else { throw PageTokens.invalid }
            return cursor
        }
        let page = try await export.page(patient, cursor: cursor, maxBytes: Int(request.maxBytes), by: context.principal)
        let next = try page.next.map { try context.pageTokens.make($0.bytes, for: request, context: context) } ?? ""
        return .with {
            $0.pieces = page.pieces.map { piece in
                .with {
                    $0.path = piece.path
                    $0.offset = piece.offset
                    $0.data = Data(piece.data)
                    $0.last = piece.last
                    $0.totalSize = piece.totalSize
                    $0.sha256 = Data(piece.sha256)
                }
            }
            $0.nextPageToken = next
            $0.contentBytesDone = page.contentDone
            $0.contentBytesTotal = page.contentTotal
            $0.documentCount = page.documentCount
        }
    }

    func importRecord(_ request: Dossier_V1_ImportRecordRequest, context: CallContext) async throws -> Dossier_V1_ImportRecordResponse {
        let patient = try PatientID(validating: request.patientID)
        guard !request.resourceJson.isEmpty else { throw DossierError.missingField("resource_json") }
        guard request.resourceJson.count <= Self.maxResource else {
            throw DossierError(.invalidArgument, "resource_json is at most 1 MiB", reason: "RESOURCE_TOO_LARGE", field: "resource_json")
        }
        // The token proves that this caller began the import on an empty record.
        var binding = Dossier_V1_ImportRecordRequest()
        binding.patientID = request.patientID
        binding.importToken = request.importToken
        let first: Bool
        if request.importToken.isEmpty {
            first = true
        } else {
            guard (try? context.pageTokens.position(of: binding, context: context)) == Array("import-v1".utf8) else {
                throw DossierError(.invalidArgument, "import_token is not a token of this import", reason: "INVALID_IMPORT_TOKEN", field: "import_token")
            }
            first = false
        }
        binding.importToken = ""
        let token = try context.pageTokens.make(Array("import-v1".utf8), for: binding, context: context)
        let resource = try FHIRImport.resource([UInt8](request.resourceJson), patient: patient)
        let maxChunk = documents.policy.maxChunk
        switch resource {
        case .acknowledged:
            if first { try await documents.beginImport(patient, by: context.principal) }
            return .with {
                $0.result = .acknowledged
                $0.importToken = token
            }
        case .document(let document):
            let content: [UInt8]? = request.content.isEmpty ? nil : [UInt8](request.content)
            let upload: String? = request.uploadID.isEmpty ? nil : request.uploadID
            if content == nil, upload == nil, document.sizeBytes <= UInt64(maxChunk) {
                throw DossierError.missingField("content")
            }
            let outcome = try await documents.importDocument(
                patient, document, content: content, uploadID: upload, requireEmpty: first, by: context.principal)
            return .with {
                $0.importToken = token
                switch outcome {
                case .imported(let document, let existed):
                    $0.result = .imported
                    $0.document = Dossier_V1_Document(document)
                    $0.alreadyExisted = existed
                case .uploadRequired(let session):
                    $0.result = .uploadRequired
                    $0.upload = Dossier_V1_UploadSession(session, maxChunk: maxChunk)
                }
            }
        }
    }
}

extension Dossier_V1_ExportRecordRequest: PagedRequest {
    /// The export pages by bytes: `max_bytes` plays `page_size` (left out of the token's binding).
    var pageSize: UInt32 {
        get { maxBytes }
        set { maxBytes = newValue }
    }
}

extension Dossier_V1_ImportRecordRequest: PagedRequest {
    var pageSize: UInt32 {
        get { 0 }
        set {}
    }
    var pageToken: String {
        get { importToken }
        set { importToken = newValue }
    }
}
