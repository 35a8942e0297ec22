import Crypto
import DossierClient
import DossierCore
import DossierProto
@testable import DossierStore
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// The maintained counts (decision 0010) against the scan, their oracle: after records,
/// grants, delegations and documents are written, changed and revoked, and as time passes
/// their expiries and objection periods, the folded figures are the scan's at every moment.
@Suite struct StatisticsCountsTests {
    static let hour: TimeInterval = 3_600
    static let bob = "1990020254321"
    static let carol = "1975030398765"

    @Test func foldedCountsAreTheScansAsTimePasses() async throws {
        let start = Date()
        let clock = MovableClock(start)
        let server = try await TestServer(clock: { clock.now })
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        try await server.openActiveRecord(Self.carol, as: helpdesk)
        // Bob's record waits out its objection period.
        _ = try await helpdesk.records.openRecord(.with {
            $0.patientID = Self.bob
            $0.enrollment = .volunteer
        })
        let alice = try await server.connect(kind: "patient", id: Docs.alice)
        let carol = try await server.connect(kind: "patient", id: Self.carol)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        try await grant(alice, Docs.alice, to: "gp-1001", expires: start + Self.hour, mode: .readWrite)
        try await grant(alice, Docs.alice, to: "hospital-1", kind: .organisation)
        _ = try await alice.access.nameDelegate(.with {
            $0.patientID = Docs.alice
            $0.delegateID = "1960050512345"
            $0.expiresAt = Google_Protobuf_Timestamp(date: start + 2 * Self.hour)
        })
        let lab = try await Docs.deposit(gp, Docs.submission("lab-1"))
        try await Docs.deposit(gp, Docs.submission("rx-1", .prescription), content: Array(repeating: 7, count: 3_000))
        try await Docs.deposit(alice, Docs.submission("note", .patientProvided, title: "Allergies"))
        _ = try await gp.documents.replaceDocument(.with {
            $0.patientID = Docs.alice
            $0.documentID = lab.documentID
            $0.submission = Docs.submission("lab-2")
            $0.content = Data("corrected".utf8)
            $0.expectedSha256 = Data(SHA256.hash(data: Data("corrected".utf8)))
        })
        // Carol's grant is revoked before it expires: its scheduled expiry must not count twice.
        let carolsGrant = try await grant(carol, Self.carol, to: "gp-1001", expires: start + 0.5 * Self.hour)
        _ = try await carol.access.revokeAccess(.with {
            $0.patientID = Self.carol
            $0.grantID = carolsGrant
        })
        try await grant(carol, Self.carol, to: "gp-2002", expires: start + 3 * Self.hour)
        _ = try await carol.records.closeRecord(.with { $0.patientID = Self.carol })

        let first = try await helpdesk.statistics.getStatistics(.init())
        #expect(first.records.pending == 1 && first.records.active == 1 && first.records.closed == 1)
        #expect(first.grants.active == 3 && first.grants.activeToOrganisations == 1 && first.grants.recordsWithDelegates == 1)
        #expect(first.documents.total == 4 && first.documents.current == 3 && first.documents.deprecated == 1)
        await server.stop(removeData: false)
        defer { try? FileManager.default.removeItem(atPath: server.dataDirectory) }

        let store = try DossierStore(configuration: TestServer.storeConfiguration(of: server.dataDirectory))
        defer { store.close() }
        var moments = [start + 60, start + 0.75 * Self.hour, start + 1.5 * Self.hour, start + 2.5 * Self.hour]
        moments += [start + 4 * Self.hour, start + 40 * 24 * Self.hour]
        var seen: [StoredCounts] = []
        for moment in moments {
            let folded = StoredCounts(try store.foldStatistics(at: moment))
            let scanned = StoredCounts(try store.recountStatistics(at: moment)[0].tally)
            #expect(Self.figures(folded) == Self.figures(scanned), "at +\(Int(moment.timeIntervalSince(start)))s")
            seen.append(folded)
        }
        // Time did change them: the gp's grant lapsed, the delegation, carol's second grant, and
        // bob's objection period ended.
        #expect(seen.map(\.activeGrants) == [3, 3, 2, 2, 1, 1])
        #expect(seen.map(\.recordsWithDelegates) == [1, 1, 1, 0, 0, 0])
        #expect(seen.first?.pendingRecords == 1 && seen.last?.pendingRecords == 0 && seen.last?.activeRecords == 2)
        // The events, which only the deltas hold, are still there.
        #expect(seen.last?.eventsByMonth.values.reduce(0) { $0 + ($1[.recordOpened] ?? 0) } == 3)
    }

    /// A store of an earlier version (clear event keys, no base) gets its base at open: the
    /// figures recounted, the events kept, the clear keys gone.
    @Test func anEarlierVersionsStoreIsCountedOnceAtOpen() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        await server.stop(removeData: false)
        defer { try? FileManager.default.removeItem(atPath: server.dataDirectory) }
        let configuration = TestServer.storeConfiguration(of: server.dataDirectory)
        let legacy = Keys.legacyStatisticsEventPrefix + Array("202601/recordClosed/00ff00ff00ff00ff".utf8)
        do {
            let store = try DossierStore(configuration: configuration)
            let batch = StoreBatch()
            batch.delete(Keys.statisticsBase, in: .meta)
            try store.engine.scan(prefix: Keys.statisticsDeltaPrefix, in: .meta) { entry in
                batch.delete(entry.key, in: .meta)
                return true
            }
            batch.put(legacy, [], in: .meta)
            try store.engine.write(batch, durability: .durable)
            store.close()
        }
        let store = try DossierStore(configuration: configuration)
        defer { store.close() }
        let counts = StoredCounts(try store.foldStatistics(at: Date()))
        #expect(counts.activeRecords == 1)
        #expect(counts.eventsByMonth[StatisticsMonth(key: "202601")!]?[.recordClosed] == 1)
        #expect(try store.engine.get(legacy, in: .meta) == nil)
        #expect(try store.engine.get(Keys.statisticsBase, in: .meta) != nil)
    }

    /// What the data directory shows of a delta: its length does not tell which counters a
    /// write changed, and a later change is keyed by its day, not the minute an access ends.
    @Test func deltasSayLittleOnDisk() throws {
        let ledger = StatisticsLedger(key: Array(repeating: 7, count: 32))
        let month = StatisticsMonth(key: "202612")!
        let now = Date(timeIntervalSince1970: 1_796_688_000 + 3_600 * 13 + 17 * 60)
        let key = Keys.statisticsDelta(at: now, writtenAt: now)
        let short = try ledger.seal(StatisticsTally([.currentOfClass(.report): 1]), at: now, key: key)
        let long = try ledger.seal(
            StatisticsTally([.currentOfClass(.administeredTreatment): 1, .event(month, .emergencyAccess): 1, .activeEmergencyAccesses: 1]),
            at: now, key: key)
        #expect(short.count == long.count)
        #expect(try ledger.open(long, key: key).tally[.activeEmergencyAccesses] == 1)
        let expiry = now + 12 * 3_600 + 7 * 60
        let later = Keys.statisticsDelta(at: expiry, writtenAt: now)
        #expect(Array(later[1..<9]) == Keys.statisticsDeltaStart(atDayOf: expiry).suffix(8).map { $0 })
        #expect(Array(key[1..<9]) != Keys.statisticsDeltaStart(atDayOf: now).suffix(8).map { $0 })
    }

    @discardableResult
    private func grant(
        _ patient: DossierClient, _ patientID: String, to id: String, kind: Dossier_V1_PrincipalKind = .professional,
        expires: Date? = nil, mode: Dossier_V1_AccessMode = .read
    ) async throws -> String {
        try await patient.access.grantAccess(.with {
            $0.patientID = patientID
            $0.grantee = .with {
                $0.kind = kind
                $0.id = id
            }
            $0.scope = .standard
            $0.mode = mode
            if let expires { $0.expiresAt = Google_Protobuf_Timestamp(date: expires) }
        }).grant.grantID
    }

    /// Everything a scan can recount (the monthly events only the deltas hold).
    private static func figures(_ counts: StoredCounts) -> StoredCounts {
        var figures = counts
        figures.eventsByMonth = [:]
        return figures
    }
}
