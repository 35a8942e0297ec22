import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// Record domain values ⇄ API messages.
extension Dossier_V1_Record {
    init(_ record: Record, at now: Date) {
        self.init()
        patientID = record.patientID.rawValue
        state = Dossier_V1_RecordState(record.state(at: now))
        enrollment = record.enrollment.kind == .volunteer ? .volunteer : .referringPhysician
        referringPhysicianID = record.enrollment.referringPhysicianID ?? ""
        openedBy = switch record.openedBy {
        case .bulk: .bulk
        case .operator: .operator
        case .patient: .patient
        }
        openedAt = Google_Protobuf_Timestamp(date: record.openedAt)
        if let date = record.objectionPeriodEndsAt { objectionPeriodEndsAt = Google_Protobuf_Timestamp(date: date) }
        if let date = record.activeSince { activeSince = Google_Protobuf_Timestamp(date: date) }
        if let date = record.closedAt { closedAt = Google_Protobuf_Timestamp(date: date) }
        if let reason = record.closureReason {
            closureReason = switch reason {
            case .patientRequest: .patientRequest
            case .objection: .objection
            case .operatorOnRequest: .operatorOnRequest
            }
        }
        if let date = record.purgeAfter { purgeAfter = Google_Protobuf_Timestamp(date: date) }
        if let date = record.deletionRequestedAt { deletionRequestedAt = Google_Protobuf_Timestamp(date: date) }
        version = record.version
    }
}

extension Dossier_V1_RecordState {
    init(_ state: RecordState) {
        self = switch state {
        case .pending: .pending
        case .active: .active
        case .closed: .closed
        }
    }
}

extension Enrollment {
    /// Validates an enrollment as sent by a client.
    init(_ kind: Dossier_V1_EnrollmentKind, referringPhysicianID: String, default defaultKind: EnrollmentKind?) throws {
        let domainKind: EnrollmentKind? = switch kind {
        case .volunteer: .volunteer
        case .referringPhysician: .referringPhysician
        case .unspecified: nil
        case .UNRECOGNIZED:
            throw DossierError(.invalidArgument, "unknown enrollment kind", reason: "INVALID_ENUM", field: "enrollment")
        }
        try self.init(kind: domainKind, referringPhysicianID: referringPhysicianID, defaultKind: defaultKind)
    }
}
