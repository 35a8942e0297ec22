public import DossierCore
import Foundation
import RocksDB

/// Notifications in their own family, numbered per record like the access log.
extension DossierStore {
    public func readNotifications(_ patient: PatientID) async throws -> [PatientNotification] {
        try await read { [self] in try loadNotifications(patient) }
    }

    func loadNotifications(_ patient: PatientID) throws -> [PatientNotification] {
        var notifications: [PatientNotification] = []
        var failure: (any Error)?
        try database.scan(prefix: Keys.logPrefix(patient), in: families.notifications, reverse: true) { _, value in
            do {
                notifications.append(try NotificationCodec.decode([UInt8](value)))
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return notifications
    }

    /// Stages new notifications (numbered after the record's last one) and read marks.
    func stageNotifications(_ transaction: RecordTransaction, logHead: UInt64, now: Date, in batch: WriteBatch) throws {
        let patient = transaction.patientID
        if !transaction.notifications.isEmpty {
            var head: UInt64 = 0
            if let bytes = try database.get(Keys.logHead(patient), in: families.notifications) {
                guard let value = Keys.decodeUInt64(bytes) else { throw CorruptValueError(family: Keys.Family.notifications) }
                head = value
            }
            for draft in transaction.notifications {
                head += 1
                let notification = PatientNotification(id: head, draft: draft, createdAt: now, readAt: nil, logSequence: logHead)
                batch.put(Keys.notification(patient, id: head), try NotificationCodec.encode(notification), in: families.notifications)
            }
            batch.put(Keys.logHead(patient), Keys.encode(head), in: families.notifications)
        }
        if let mark = transaction.markRead {
            for var notification in try loadNotifications(patient)
            where notification.readAt == nil && (mark.ids.contains(notification.id) || notification.id <= mark.upTo) {
                notification.readAt = mark.at
                batch.put(
                    Keys.notification(patient, id: notification.id), try NotificationCodec.encode(notification),
                    in: families.notifications)
            }
        }
    }
}

enum NotificationCodec {
    static func encode(_ notification: PatientNotification) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredNotification()
        stored.id = notification.id
        stored.kind = notification.draft.kind.rawValue
        stored.createdAtUs = Time.micros(notification.createdAt)
        stored.readAtUs = Time.micros(notification.readAt)
        stored.actor = ActorCodec.encode(notification.draft.actor)
        stored.documentIds = notification.draft.documentIDs
        stored.grantID = notification.draft.grantID ?? ""
        stored.expiresAtUs = Time.micros(notification.draft.expiresAt)
        stored.logSequence = notification.logSequence
        return try stored.serializedBytes()
    }

    static func decode(_ bytes: [UInt8]) throws -> PatientNotification {
        let stored = try Dossier_Storage_V1_StoredNotification(serializedBytes: bytes)
        guard let kind = NotificationKind(rawValue: stored.kind), let createdAt = Time.date(stored.createdAtUs) else {
            throw CorruptValueError(family: Keys.Family.notifications)
        }
        let draft = NotificationDraft(
            kind: kind, actor: try ActorCodec.decode(stored.actor), documentIDs: stored.documentIds,
            grantID: stored.grantID.nilIfEmpty, expiresAt: Time.date(stored.expiresAtUs))
        return PatientNotification(
            id: stored.id, draft: draft, createdAt: createdAt, readAt: Time.date(stored.readAtUs), logSequence: stored.logSequence)
    }
}
