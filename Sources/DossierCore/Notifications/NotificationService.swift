import Foundation

/// The patient's notifications: listed and marked read by the patient or their delegate (the
/// read state is shared). Both calls are logged.
public struct NotificationService: Sendable {
    public let repository: any RecordRepository
    public let clock: @Sendable () -> Date

    public init(repository: any RecordRepository, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.repository = repository
        self.clock = clock
    }

    /// All notifications of the record, newest first.
    public func list(_ patient: PatientID, by caller: Principal) async throws -> [PatientNotification] {
        try await RecordOperationRunner(repository: repository).perform(
            .listNotifications, on: patient, by: caller, at: clock(), authorize: { relation, _ in AccessLogService.decide(relation) },
            body: { tx, _ in _ = try RecordOperationRunner.existing(tx) })
        return try await repository.readNotifications(patient)
    }

    /// Marks notifications read; returns how many went from unread to read, and the unread left.
    public func markRead(_ patient: PatientID, ids: Set<UInt64>, upTo: UInt64, by caller: Principal) async throws -> (marked: Int, unread: Int) {
        let now = clock()
        let before = try await repository.readNotifications(patient).filter { $0.readAt == nil }.map(\.id)
        try await RecordOperationRunner(repository: repository).perform(
            .markNotificationsRead, on: patient, by: caller, at: now, authorize: { relation, _ in AccessLogService.decide(relation) },
            body: { tx, _ in
                _ = try RecordOperationRunner.existing(tx)
                tx.markRead = (ids, upTo, now)
            })
        let unread = try await repository.readNotifications(patient).filter { $0.readAt == nil }.count
        let marked = before.filter { ids.contains($0) || $0 <= upTo }.count
        return (marked, unread)
    }

    /// The record's notification choices.
    public func preferences(_ patient: PatientID, by caller: Principal) async throws -> NotificationPreferences {
        try await RecordOperationRunner(repository: repository).perform(
            .getNotificationPreferences, on: patient, by: caller, at: clock(),
            authorize: { relation, _ in AccessLogService.decide(relation) },
            body: { tx, _ in
                _ = try RecordOperationRunner.existing(tx)
                return tx.settings.notificationPreferences
            })
    }

    /// Turns kinds on or off (in order; the last change of a kind counts). Turning emergency
    /// access off is refused (INVALID_ARGUMENT "NOTIFICATION_ALWAYS_ON"), and logged as failed.
    public func setPreferences(
        _ patient: PatientID, _ changes: [(kind: NotificationKind, enabled: Bool)], by caller: Principal
    ) async throws -> NotificationPreferences {
        guard !changes.isEmpty else { throw DossierError.missingField("preferences") }
        let now = clock()
        return try await RecordOperationRunner(repository: repository).perform(
            .setNotificationPreferences, on: patient, by: caller, at: now,
            authorize: { relation, _ in AccessLogService.decide(relation) },
            body: { tx, _ in
                _ = try RecordOperationRunner.existing(tx)
                var settings = tx.effectiveSettings
                try settings.notificationPreferences.apply(changes, at: now)
                tx.updatedSettings = settings
                return settings.notificationPreferences
            })
    }

    /// Tells patients, once per grant, that a grant they gave expires within `notice` (a
    /// professional or organisation would lose access: the patient may renew it). Run by the
    /// server's hourly job; returns the notifications added.
    public func noticeExpiringGrants(_ patients: [PatientID], notice: TimeInterval = 7 * 86_400) async throws -> Int {
        let now = clock()
        var added = 0
        for patient in patients {
            added += try await repository.transact(patient) { tx in
                guard let record = tx.current, record.state(at: now) == .active else { return 0 }
                var settings = tx.effectiveSettings
                var count = 0
                for grant in settings.grants
                where grant.basis == .grant && grant.state(at: now) == .active && !settings.expiryNotified.contains(grant.id) {
                    guard let expiresAt = grant.expiresAt, expiresAt <= now + notice else { continue }
                    tx.notifications.append(NotificationDraft(
                        kind: .grantExpiring, actor: Principal(kind: grant.grantee.kind, id: grant.grantee.id), grantID: grant.id,
                        expiresAt: expiresAt))
                    settings.expiryNotified.insert(grant.id)
                    count += 1
                }
                if count > 0 { tx.updatedSettings = settings }
                return count
            }
        }
        return added
    }
}

/// Every record's patient id, for jobs that visit all records.
public protocol RecordDirectory: Sendable {
    func patientIDs() async throws -> [PatientID]
}
