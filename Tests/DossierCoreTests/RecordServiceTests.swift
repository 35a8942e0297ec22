import DossierCore
import Foundation
import Synchronization
import Testing

/// An in-memory repository with the same contract as the store: one atomic commit per
/// transaction, log entries of a record that does not exist are dropped.
final class MemoryRepository: RecordRepository {
    struct State {
        var records: [PatientID: Record] = [:]
        var logs: [PatientID: [AccessLogEntry]] = [:]
        var settings: [PatientID: RecordAccessSettings] = [:]
    }
    let state = Mutex(State())

    func transact<T: Sendable>(
        _ patients: [PatientID], _ body: @escaping @Sendable (inout [RecordTransaction]) throws -> T
    ) async throws -> T {
        try state.withLock { state in
            var transactions = patients.map {
                RecordTransaction(patientID: $0, current: state.records[$0], settings: state.settings[$0] ?? .init())
            }
            let result = try body(&transactions)
            for tx in transactions {
                if let updated = tx.updated { state.records[tx.patientID] = updated }
                if let settings = tx.updatedSettings, tx.record != nil { state.settings[tx.patientID] = settings }
                if tx.updated != nil || tx.current != nil { state.logs[tx.patientID, default: []] += tx.logEntries }
            }
            return result
        }
    }

    func log(_ patient: PatientID) -> [AccessLogEntry] { state.withLock { $0.logs[patient] ?? [] } }

    func readNotifications(_ patient: PatientID) async throws -> [PatientNotification] { [] }

    func delegations(of delegateID: String) async throws -> [(patient: PatientID, delegation: Delegation)] {
        state.withLock { state in
            state.settings.flatMap { patient, settings in
                settings.delegations.filter { $0.delegateID == delegateID }.map { (patient, $0) }
            }
        }
    }

    func readAccessLog(_ patient: PatientID, _ query: AccessLogQuery) async throws -> [SequencedLogEntry] {
        let all = log(patient).enumerated().map { SequencedLogEntry(sequence: UInt64($0.offset + 1), entry: $0.element) }
        let ordered = query.newestFirst ? all.reversed() : all
        let after = ordered.drop { entry in
            guard let cursor = query.after else { return false }
            return query.newestFirst ? entry.sequence >= cursor : entry.sequence <= cursor
        }
        return Array(after.filter { query.matches($0.entry) }.prefix(query.limit))
    }
}

@Suite struct RecordServiceTests {
    let repository = MemoryRepository()
    let patient = try! PatientID(validating: "1985010112345")
    let alice = Principal(kind: .patient, id: "1985010112345")
    let helpdesk = Principal(kind: .operator, id: "op-1")
    let stranger = Principal(kind: .professional, id: "gp-9", profession: "gp")
    var service: RecordService { RecordService(repository: repository, policy: .init(), clock: { Date(timeIntervalSince1970: 1_700_000_000) }) }

    @Test func operatorOpensAndPatientReadsWithLogEntries() async throws {
        let opened = try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: true, by: helpdesk)
        #expect(opened.storedState == .pending)
        _ = try await service.read(patient, by: alice)
        let log = repository.log(patient)
        #expect(log.map(\.operation) == [.openRecord, .getRecord])
        #expect(log.map(\.outcome) == [.success, .success])
        #expect(log.map(\.basis) == [.operator, .patient])
    }

    @Test func deniedAttemptOnAnExistingRecordIsLogged() async throws {
        _ = try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: false, by: helpdesk)
        let error = await #expect(throws: DossierError.self) { try await service.read(patient, by: stranger) }
        #expect(error?.code == .permissionDenied)
        let denied = try #require(repository.log(patient).last)
        #expect(denied.outcome == .denied && denied.actor == stranger && denied.basis == .none)
    }

    @Test func existenceIsNotRevealedToStrangers() async throws {
        // No record: a stranger gets the same answer as for an existing record without access.
        let error = await #expect(throws: DossierError.self) { try await service.read(patient, by: stranger) }
        #expect(error?.code == .permissionDenied)
        // The patient and operators may learn it does not exist.
        let notFound = await #expect(throws: DossierError.self) { try await service.read(patient, by: helpdesk) }
        #expect(notFound?.code == .notFound)
        #expect(repository.log(patient).isEmpty)
    }

    @Test func failedTransitionIsLoggedAsFailed() async throws {
        _ = try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: false, by: helpdesk)
        let error = await #expect(throws: DossierError.self) { try await service.reopen(patient, by: alice) }
        #expect(error?.code == .failedPrecondition)
        #expect(repository.log(patient).last?.outcome == .failed)
        #expect(repository.log(patient).last?.reason == "RECORD_NOT_CLOSED")
    }

    @Test func openingTwiceIsAlreadyExists() async throws {
        _ = try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: false, by: helpdesk)
        let error = await #expect(throws: DossierError.self) {
            try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: false, by: helpdesk)
        }
        #expect(error?.code == .alreadyExists)
    }

    @Test func delegateActsWithThePatientsRights() async throws {
        _ = try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: false, by: helpdesk)
        repository.state.withLock {
            $0.settings[patient] = RecordAccessSettings(delegations: [
                Delegation(delegateID: "1990020254321", namedAt: Date(timeIntervalSince1970: 0), expiresAt: nil, label: "")
            ])
        }
        let bob = Principal(kind: .patient, id: "1990020254321")
        let closed = try await service.close(patient, by: bob)
        #expect(closed.closureReason == .patientRequest)
        #expect(repository.log(patient).last?.basis == .delegate)
        #expect(repository.log(patient).last?.actor == bob)
    }

    @Test func bulkOpeningReportsEachEntry() async throws {
        _ = try await service.open(patient, enrollment: .volunteer, withObjectionPeriod: false, by: helpdesk)
        let other = try PatientID(validating: "1990020254321")
        let (outcomes, _) = try await service.openBulk(
            [BulkEnrollment(patientID: patient, enrollment: .volunteer), BulkEnrollment(patientID: other, enrollment: .volunteer)],
            by: helpdesk)
        #expect(outcomes == [.alreadyExists, .opened])
        await #expect(throws: DossierError.self) {
            try await service.openBulk([BulkEnrollment(patientID: other, enrollment: .volunteer)], by: alice)
        }
        await #expect(throws: DossierError.self) {
            try await service.openBulk(
                [BulkEnrollment(patientID: other, enrollment: .volunteer), BulkEnrollment(patientID: other, enrollment: .volunteer)],
                by: helpdesk)
        }
    }
}
