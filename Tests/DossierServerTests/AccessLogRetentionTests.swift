import DossierClient
import DossierCore
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// A clock a test moves.
final class MovableClock: @unchecked Sendable {
    // @unchecked: `now` is only read and written under `lock`.
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    var now: Date {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    func advance(days: Double) { now = now.addingTimeInterval(days * 86_400) }
}

/// EHDS Art. 9(2): access-log entries are kept at least three years from each access, after
/// the record's closure too, until its purge; ListAccessLog says which data were accessed.
@Suite struct AccessLogRetentionTests {
    static let day: TimeInterval = 86_400

    @Test func retentionIsNeverShorterThanThreeYears() {
        #expect(RecordPolicy(retentionPeriod: 0).retentionPeriod == 1_095 * Self.day)
        #expect(RecordPolicy(retentionPeriod: 3_650 * Self.day).retentionPeriod == 3_650 * Self.day)
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        var record = Record(
            patientID: try! PatientID(validating: Docs.alice), storedState: .closed, enrollment: .volunteer, openedBy: .operator,
            openedAt: start - 1_000 * Self.day, closedAt: start, closureReason: .patientRequest, purgeAfter: start + 1_095 * Self.day)
        let due = start + 1_096 * Self.day
        #expect(PurgeService.isDue(record, lastLogEntryAt: start, at: due))
        // An access a year after closure keeps the record (and its log) three years from then.
        #expect(!PurgeService.isDue(record, lastLogEntryAt: start + 365 * Self.day, at: due))
        #expect(PurgeService.isDue(record, lastLogEntryAt: start + 365 * Self.day, at: start + 1_461 * Self.day))
        // The patient's own deletion request is not held back.
        record.deletionRequestedAt = start + 365 * Self.day
        record.purgeAfter = record.deletionRequestedAt
        #expect(PurgeService.isDue(record, lastLogEntryAt: start + 365 * Self.day, at: start + 366 * Self.day))
    }

    @Test func entriesOlderThanThreeYearsAreStillListedByDocumentAfterClosure() async throws {
        let clock = MovableClock(Date().addingTimeInterval(-4 * 365 * Self.day))
        let server = try await TestServer(policy: RecordPolicy(retentionPeriod: 0), clock: { clock.now })
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Docs.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        try await Docs.grant(alice, to: "gp-1001", scope: .extended, mode: .readWrite)
        let lab = try await Docs.deposit(gp, Docs.submission("lab-1", created: clock.now - 3_600))
        let letter = try await Docs.deposit(gp, Docs.submission("letter-1", .summary, title: "Discharge", created: clock.now - 3_600))
        _ = try await Docs.get(gp, lab.documentID)
        let accessedAt = clock.now
        clock.advance(days: 10)
        _ = try await alice.records.closeRecord(.with { $0.patientID = Docs.alice })

        // Three years and a day after the accesses, after the closure: every entry is listed,
        // and the document filter tells which data were accessed.
        clock.now = accessedAt.addingTimeInterval(1_096 * Self.day)
        let aboutLab = try await alice.accessLog.listAccessLog(.with {
            $0.patientID = Docs.alice
            $0.documentID = lab.documentID
            $0.oldestFirst = true
        }).entries
        #expect(aboutLab.map(\.operation) == [.depositDocument, .getDocument])
        #expect(aboutLab.allSatisfy { $0.documentIds.contains(lab.documentID) && $0.time.date <= clock.now - 1_095 * Self.day })
        #expect(aboutLab.last?.actor.id == "gp-1001")
        let aboutLetter = try await alice.accessLog.listAccessLog(.with {
            $0.patientID = Docs.alice
            $0.documentID = letter.documentID
        }).entries
        #expect(aboutLetter.map(\.operation) == [.depositDocument])
        let all = try await Docs.log(alice)
        #expect(all.first?.operation == .openRecord && all.first!.time.date < clock.now - 1_095 * Self.day)

        // Closed 1,086 days ago: within the (3-year minimum) retention, nothing is due.
        let notDue = try await helpdesk.admin.runPurge(.with { $0.dryRun = true })
        #expect(notDue.remainingDue == 0 && notDue.hasNextDueAt)
        // Past the retention, but the log was read a moment ago: kept three years from then.
        clock.advance(days: 20)
        let kept = try await helpdesk.admin.runPurge(.init())
        #expect(kept.purged == 0)
        #expect(try await Docs.log(alice).count == all.count + 1)
        // Three years after the last entry, the purge takes the record and its log.
        clock.advance(days: 1_096)
        let purged = try await helpdesk.admin.runPurge(.init())
        #expect(purged.purged == 1)
        let gone = await Docs.status { _ = try await alice.records.getRecord(.with { $0.patientID = Docs.alice }) }
        #expect(gone?.code == .notFound || gone?.code == .permissionDenied)
        for client in [helpdesk, alice, gp] { await client.close() }
        await server.stop()
    }
}
