import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Operators' statistics: counts that follow what happens, no identifiers, operators only.
@Suite struct StatisticsTests {
    @Test func countsFollowRecordsDocumentsAndGrants() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        try await server.openActiveRecord("1990020254321", as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Docs.alice)
        let bob = try await server.connect(kind: "patient", id: "1990020254321")
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        try await Docs.grant(alice, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.grant(alice, to: "hospital-1", kind: .organisation)
        try await Docs.deposit(gp, Docs.submission("lab-1"))
        try await Docs.deposit(gp, Docs.submission("rx-1", .prescription), content: Array(repeating: 1, count: 1_000))
        try await Docs.deposit(alice, Docs.submission("note", .patientProvided, title: "Allergies"))
        _ = try await bob.records.closeRecord(.with { $0.patientID = "1990020254321" })

        let stats = try await helpdesk.statistics.getStatistics(.init())
        #expect(stats.records.active == 1 && stats.records.closed == 1 && stats.records.openedTotal == 2)
        #expect(stats.closuresTotal == 1 && stats.closureRate == 0.5)
        #expect(stats.documents.total == 3 && stats.documents.current == 3 && stats.documents.patientSpace == 1)
        #expect(stats.documents.contentBytes == 6 + 1_000 + 6)
        #expect(stats.documents.byClass.map(\.documentClass) == [.prescription, .labResult, .patientProvided])
        #expect(stats.grants.active == 2 && stats.grants.activeToOrganisations == 1 && stats.grants.activeReadWrite == 1)
        #expect(stats.buckets.count == 12 && stats.granularity == .month)
        let now = try #require(stats.buckets.last)
        #expect(now.documentsDeposited == 3 && now.documentsAtEnd == 3 && now.recordsOpened == 2 && now.recordsClosed == 1)
        #expect(now.grantsCreated == 2)

        for client in [alice, gp] {
            let denied = await Docs.status { _ = try await client.statistics.getStatistics(.init()) }
            #expect(denied?.code == .permissionDenied)
        }
        let tooLarge = await Docs.status {
            _ = try await helpdesk.statistics.getStatistics(.with {
                $0.rangeStart = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 0))
            })
        }
        #expect(tooLarge?.code == .invalidArgument && tooLarge?.reason == "RANGE_TOO_LARGE")
        let inverted = await Docs.status {
            _ = try await helpdesk.statistics.getStatistics(.with {
                $0.rangeStart = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_790_000_000))
                $0.rangeEnd = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_780_000_000))
            })
        }
        #expect(inverted?.code == .invalidArgument && inverted?.reason == "INVALID_RANGE")
        await server.stop()
    }
}
