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

    func getNotificationPreferences(
        _ request: Dossier_V1_GetNotificationPreferencesRequest, context: CallContext
    ) async throws -> Dossier_V1_GetNotificationPreferencesResponse {
        let patient = try PatientID(validating: request.patientID)
        let preferences = try await notifications.preferences(patient, by: context.principal)
        return .with {
            $0.preferences = NotificationConversions.preferences(preferences)
            if let date = preferences.updatedAt { $0.updatedAt = Google_Protobuf_Timestamp(date: date) }
        }
    }

    func setNotificationPreferences(
        _ request: Dossier_V1_SetNotificationPreferencesRequest, context: CallContext
    ) async throws -> Dossier_V1_SetNotificationPreferencesResponse {
        let patient = try PatientID(validating: request.patientID)
        let changes = try request.preferences.map { (kind: try NotificationConversions.kind($0.kind, field: "preferences"), enabled: $0.enabled) }
        let preferences = try await notifications.setPreferences(patient, changes, by: context.principal)
        return .with {
            $0.preferences = NotificationConversions.preferences(preferences)
            if let date = preferences.updatedAt { $0.updatedAt = Google_Protobuf_Timestamp(date: date) }
        }
    }
}

/// Notification kinds ⇄ the API's enum.
enum NotificationConversions {
    static func kind(_ kind: NotificationKind) -> Dossier_V1_NotificationKind {
        switch kind {
        case .firstAccess: .firstAccess
        case .emergencyAccess: .emergencyAccess
        case .newDocument: .newDocument
        case .grantExpiring: .grantExpiring
        case .referringPhysicianChanged: .referringPhysicianChanged
        case .rectificationCorrected: .rectificationCorrected
        case .rectificationDeclined: .rectificationDeclined
        }
    }

    static func kind(_ kind: Dossier_V1_NotificationKind, field: String) throws -> NotificationKind {
        guard let known = NotificationKind.allCases.first(where: { Self.kind($0) == kind }) else {
            throw DossierError(.invalidArgument, "unknown or unspecified notification kind", reason: "INVALID_ENUM", field: field)
        }
        return known
    }

    /// Every kind, in the API's enum order.
    static func preferences(_ preferences: NotificationPreferences) -> [Dossier_V1_NotificationPreference] {
        NotificationKind.allCases.sorted { kind($0).rawValue < kind($1).rawValue }.map { known in
            .with {
                $0.kind = kind(known)
                $0.enabled = preferences.delivers(known)
                $0.alwaysOn = NotificationPreferences.alwaysOn.contains(known)
            }
        }
    }
}

extension Dossier_V1_Notification {
    init(_ notification: PatientNotification, patient: PatientID) {
        self.init()
        notificationID = notification.id
        patientID = patient.rawValue
        kind = NotificationConversions.kind(notification.draft.kind)
        createdAt = Google_Protobuf_Timestamp(date: notification.createdAt)
        if let date = notification.readAt { readAt = Google_Protobuf_Timestamp(date: date) }
        actor = Dossier_V1_Actor(notification.draft.actor)
        documentIds = notification.draft.documentIDs
        grantID = notification.draft.grantID ?? ""
        if let date = notification.draft.expiresAt { expiresAt = Google_Protobuf_Timestamp(date: date) }
        accessLogSequence = notification.logSequence
        rectificationRequestID = notification.draft.rectificationRequestID ?? ""
    }
}
