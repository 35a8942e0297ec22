import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Notifications`: what the patient app polls.
struct NotificationsHandler: Dossier_V1_NotificationsService {
    let notifications: NotificationService

    func listNotifications(_ request: Dossier_V1_ListNotificationsRequest, context: CallContext) async throws -> Dossier_V1_ListNotificationsResponse {
        let patient = try PatientID(validating: request.patientID)
        let page = try Page(request, context: context)
        let all = try await notifications.list(patient, by: context.principal)
        let (items, next) = try page.slice(request.unreadOnly ? all.filter { $0.readAt == nil } : all)
        return .with {
            $0.notifications = items.map { Dossier_V1_Notification($0, patient: patient) }
            $0.nextPageToken = next
            $0.unreadTotal = UInt64(all.count { $0.readAt == nil })
        }
    }

    func markNotificationsRead(_ request: Dossier_V1_MarkNotificationsReadRequest, context: CallContext) async throws -> Dossier_V1_MarkNotificationsReadResponse {
        let patient = try PatientID(validating: request.patientID)
        let (marked, unread) = try await notifications.markRead(
            patient, ids: Set(request.notificationIds), upTo: request.upToNotificationID, by: context.principal)
        return .with {
            $0.marked = UInt64(marked)
            $0.unreadTotal = UInt64(unread)
        }
    }
}

extension Dossier_V1_Notification {
    init(_ notification: PatientNotification, patient: PatientID) {
        self.init()
        notificationID = notification.id
        patientID = patient.rawValue
        kind = switch notification.draft.kind {
        case .firstAccess: .firstAccess
        case .emergencyAccess: .emergencyAccess
        case .newDocument: .newDocument
        case .grantExpiring: .grantExpiring
        case .referringPhysicianChanged: .referringPhysicianChanged
        }
        createdAt = Google_Protobuf_Timestamp(date: notification.createdAt)
        if let date = notification.readAt { readAt = Google_Protobuf_Timestamp(date: date) }
        actor = Dossier_V1_Actor(notification.draft.actor)
        documentIds = notification.draft.documentIDs
        grantID = notification.draft.grantID ?? ""
        if let date = notification.draft.expiresAt { expiresAt = Google_Protobuf_Timestamp(date: date) }
        accessLogSequence = notification.logSequence
    }
}
