public import DossierCore
import Foundation

/// Notifications in their own family, numbered per record like the access log.
extension DossierStore {
    public func readNotifications(_ patient: PatientID) async throws -> [PatientNotification] {
        try await read { [self] in try keyStore.keys(for: patient).map(loadNotifications) ?? [] }
    }

    func loadNotifications(_ keys: RecordKeys) throws -> [PatientNotification] {
        var notifications: [PatientNotification] = []
        var failure: (any Error)?
        try engine.scan(prefix: Keys.logPrefix(keys.handle), in: .notifications, reverse: true) { entry in
            do {
                notifications.append(try NotificationCodec.decode(try keys.open(entry.value, at: entry.key)))
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
    func stageNotifications(_ transaction: RecordTransaction, keys: RecordKeys, logHead: UInt64, now: Date, in batch: StoreBatch) throws {
        let handle = keys.handle
        // Only the kinds the patient wants (emergency access always).
        let delivered = transaction.deliveredNotifications
        if !delivered.isEmpty {
            var head: UInt64 = 0
            let headKey = Keys.logHead(handle)
            if let bytes = try engine.get(headKey, in: .notifications) {
                guard let value = Keys.decodeUInt64(bytes) else { throw CorruptValueError(family: Keys.Family.notifications) }
                head = value
            }
            for draft in delivered {
                head += 1
                let notification = PatientNotification(id: head, draft: draft, createdAt: now, readAt: nil, logSequence: logHead)
                try putSealed(
                    try NotificationCodec.encode(notification), at: Keys.notification(handle, id: head), keys: keys,
                    in: .notifications, batch: batch)
            }
            batch.put(headKey, Keys.encode(head), in: .notifications)  // a count, in clear
        }
        if let mark = transaction.markRead {
            for var notification in try loadNotifications(keys)
            where notification.readAt == nil && (mark.ids.contains(notification.id) || notification.id <= mark.upTo) {
                notification.readAt = mark.at
                try putSealed(
                    try NotificationCodec.encode(notification), at: Keys.notification(handle, id: notification.id), keys: keys,
                    in: .notifications, batch: batch)
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
        stored.rectificationRequestID = notification.draft.rectificationRequestID ?? ""
        return try stored.serializedBytes()
    }

    static func decode(_ bytes: [UInt8]) throws -> PatientNotification {
        let stored = try Dossier_Storage_V1_StoredNotification(serializedBytes: bytes)
        guard let kind = NotificationKind(rawValue: stored.kind), let createdAt = Time.date(stored.createdAtUs) else {
            throw CorruptValueError(family: Keys.Family.notifications)
        }
        let draft = NotificationDraft(
            kind: kind, actor: try ActorCodec.decode(stored.actor), documentIDs: stored.documentIds,
            grantID: stored.grantID.nilIfEmpty, expiresAt: Time.date(stored.expiresAtUs),
            rectificationRequestID: stored.rectificationRequestID.nilIfEmpty)
        return PatientNotification(
            id: stored.id, draft: draft, createdAt: createdAt, readAt: Time.date(stored.readAtUs), logSequence: stored.logSequence)
    }
}
