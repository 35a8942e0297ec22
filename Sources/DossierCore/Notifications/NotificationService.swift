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
}
