import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Rectification`: the patient asks for a document to be corrected; its author or
/// the referring physician answers (a replacement through Documents, or a decline here).
struct RectificationHandler: Dossier_V1_RectificationService {
    let documents: DocumentService

    func requestRectification(
        _ request: Dossier_V1_RequestRectificationRequest, context: CallContext
    ) async throws -> Dossier_V1_RequestRectificationResponse {
        let patient = try PatientID(validating: request.patientID)
        let made = try await documents.requestRectification(
            patient, documentID: request.documentID, reason: request.reason, by: context.principal)
        return .with { $0.request = Dossier_V1_RectificationRequest(made, patient: patient) }
    }

    func listRectificationRequests(
        _ request: Dossier_V1_ListRectificationRequestsRequest, context: CallContext
    ) async throws -> Dossier_V1_ListRectificationRequestsResponse {
        let patient = try PatientID(validating: request.patientID)
        let page = try Page(request, context: context)
        let all = try await documents.rectificationRequests(
            patient, openOnly: request.openOnly, documentID: request.documentID.isEmpty ? nil : request.documentID,
            by: context.principal)
        let (items, next) = try page.slice(all)
        return .with {
            $0.requests = items.map { Dossier_V1_RectificationRequest($0, patient: patient) }
            $0.nextPageToken = next
        }
    }

    func declineRectification(
        _ request: Dossier_V1_DeclineRectificationRequest, context: CallContext
    ) async throws -> Dossier_V1_DeclineRectificationResponse {
        let patient = try PatientID(validating: request.patientID)
        let declined = try await documents.declineRectification(
            patient, requestID: request.rectificationRequestID, reason: request.reason, by: context.principal)
        return .with { $0.request = Dossier_V1_RectificationRequest(declined, patient: patient) }
    }
}

extension Dossier_V1_RectificationRequest {
    init(_ request: RectificationRequest, patient: PatientID) {
        self.init()
        rectificationRequestID = request.id
        patientID = patient.rawValue
        documentID = request.documentID
        requestedBy = Dossier_V1_Actor(request.requestedBy)
        requestedAt = Google_Protobuf_Timestamp(date: request.requestedAt)
        reason = request.reason
        status = switch request.status {
        case .open: .open
        case .corrected: .corrected
        case .declined: .declined
        }
        if let actor = request.answeredBy { answeredBy = Dossier_V1_Actor(actor) }
        if let date = request.answeredAt { answeredAt = Google_Protobuf_Timestamp(date: date) }
        answer = request.answer
        replacementDocumentID = request.replacementDocumentID ?? ""
    }
}
