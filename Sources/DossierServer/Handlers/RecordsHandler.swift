import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Records`: validates requests, calls the record use cases, converts answers.
struct RecordsHandler: Dossier_V1_RecordsService {
    let records: RecordService

    func openRecord(_ request: Dossier_V1_OpenRecordRequest, context: CallContext) async throws -> Dossier_V1_OpenRecordResponse {
        let patient = try PatientID(validating: request.patientID)
        let enrollment = try Enrollment(request.enrollment, referringPhysicianID: request.referringPhysicianID, default: nil)
        let record = try await records.open(
            patient, enrollment: enrollment, withObjectionPeriod: !request.skipObjectionPeriod, by: context.principal)
        return .with { $0.record = Dossier_V1_Record(record, at: records.clock()) }
    }

    func openRecords(_ request: Dossier_V1_OpenRecordsRequest, context: CallContext) async throws -> Dossier_V1_OpenRecordsResponse {
        // Validation of the request itself, then authorization (PROTOCOL.md section 7).
        guard (1...records.policy.maxBulkEnrollments).contains(request.enrollments.count) else {
            throw DossierError(
                .invalidArgument, "enrollments must hold 1 to \(records.policy.maxBulkEnrollments) entries",
                reason: "BULK_SIZE", field: "enrollments")
        }
        try records.checkBulkOpening(by: context.principal)
        // Invalid entries are rejected one by one; the valid ones are opened in one commit.
        var valid: [(index: Int, entry: BulkEnrollment)] = []
        var results = request.enrollments.map { entry in
            Dossier_V1_BulkResult.with { $0.patientID = String(entry.patientID.prefix(64)) }
        }
        for (index, entry) in request.enrollments.enumerated() {
            do {
                let patient = try PatientID(validating: entry.patientID)
                let enrollment = try Enrollment(entry.enrollment, referringPhysicianID: entry.referringPhysicianID, default: .volunteer)
                valid.append((index, BulkEnrollment(patientID: patient, enrollment: enrollment)))
            } catch let error as DossierError {
                results[index].outcome = .rejected
                results[index].reason = error.reason ?? "INVALID"
            }
        }
        var response = Dossier_V1_OpenRecordsResponse()
        if !valid.isEmpty {
            let (outcomes, objectionEnd) = try await records.openBulk(valid.map(\.entry), by: context.principal)
            for (slot, outcome) in zip(valid, outcomes) {
                switch outcome {
                case .opened: results[slot.index].outcome = .opened
                case .alreadyExists: results[slot.index].outcome = .alreadyExists
                case .rejected(let reason):
                    results[slot.index].outcome = .rejected
                    results[slot.index].reason = reason
                }
            }
            response.objectionPeriodEndsAt = Google_Protobuf_Timestamp(date: objectionEnd)
        }
        response.opened = UInt32(results.count { $0.outcome == .opened })
        response.alreadyExisting = UInt32(results.count { $0.outcome == .alreadyExists })
        response.rejected = UInt32(results.count { $0.outcome == .rejected })
        response.results = results
        return response
    }

    func activateRecord(_ request: Dossier_V1_ActivateRecordRequest, context: CallContext) async throws -> Dossier_V1_ActivateRecordResponse {
        let patient = try PatientID(validating: request.patientID)
        let enrollment = try Enrollment(request.enrollment, referringPhysicianID: request.referringPhysicianID, default: .volunteer)
        let record = try await records.activate(patient, enrollment: enrollment, by: context.principal)
        return .with { $0.record = Dossier_V1_Record(record, at: records.clock()) }
    }

    func getRecord(_ request: Dossier_V1_GetRecordRequest, context: CallContext) async throws -> Dossier_V1_GetRecordResponse {
        let record = try await records.read(try PatientID(validating: request.patientID), by: context.principal)
        return .with { $0.record = Dossier_V1_Record(record, at: records.clock()) }
    }

    func closeRecord(_ request: Dossier_V1_CloseRecordRequest, context: CallContext) async throws -> Dossier_V1_CloseRecordResponse {
        let record = try await records.close(try PatientID(validating: request.patientID), by: context.principal)
        return .with { $0.record = Dossier_V1_Record(record, at: records.clock()) }
    }

    func reopenRecord(_ request: Dossier_V1_ReopenRecordRequest, context: CallContext) async throws -> Dossier_V1_ReopenRecordResponse {
        let record = try await records.reopen(try PatientID(validating: request.patientID), by: context.principal)
        return .with { $0.record = Dossier_V1_Record(record, at: records.clock()) }
    }

    func requestDeletion(_ request: Dossier_V1_RequestDeletionRequest, context: CallContext) async throws -> Dossier_V1_RequestDeletionResponse {
        let patient = try PatientID(validating: request.patientID)
        guard request.confirmIrreversible else {
            throw DossierError(
                .invalidArgument, "confirm_irreversible must be true", reason: "CONFIRMATION_REQUIRED",
                field: "confirm_irreversible")
        }
        let record = try await records.requestDeletion(patient, by: context.principal)
        return .with { response in
            if let date = record.purgeAfter { response.purgeScheduledAt = Google_Protobuf_Timestamp(date: date) }
        }
    }
}
