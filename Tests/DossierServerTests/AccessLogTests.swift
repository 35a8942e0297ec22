import DossierClient
import DossierCore
import DossierProto
import DossierTestSupport
import Foundation
import Testing

@testable import DossierServer

/// The patient reads who did what on their record, denied attempts included.
@Suite struct AccessLogTests {
    static let alice = "1985010112345"

    @Test func everyLoggedOperationHasAnAPIName() {
        for operation in LoggedOperation.allCases {
            #expect(LogConversions.operation(operation) != .unspecified, "\(operation)")
            #expect(LogConversions.operation(LogConversions.operation(operation)) == operation)
        }
    }

    @Test func patientSeesTheDeniedAttemptAndPagesThroughTheLog() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let alice = try await server.connect(kind: "patient", id: Self.alice)
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-1", profession: "pharmacist")
        try await server.openActiveRecord(Self.alice, as: helpdesk)
        await #expect(throws: RPCStatusError.self) {
            _ = try await pharmacist.records.getRecord(.with { $0.patientID = Self.alice })
        }
        for _ in 0..<5 { _ = try await alice.records.getRecord(.with { $0.patientID = Self.alice }) }

        let denied = try await alice.accessLog.listAccessLog(.with {
            $0.patientID = Self.alice
            $0.outcomes = [.denied]
        })
        #expect(denied.entries.count == 1)
        let attempt = try #require(denied.entries.first)
        #expect(attempt.actor.id == "pharm-1" && attempt.actor.profession == "pharmacist")
        #expect(attempt.operation == .getRecord && attempt.basis == .none && !attempt.actor.certificateSerial.isEmpty)

        // Newest first, three per page: the listing itself is logged too (entry 8 is the first listing).
        var sequences: [UInt64] = []
        var token = ""
        let until = Date() + 3600  // the same filters on every page: a token is bound to them
        repeat {
            let page = try await alice.accessLog.listAccessLog(.with {
                $0.patientID = Self.alice
                $0.pageSize = 3
                $0.pageToken = token
                $0.until = .init(date: until)
            })
            sequences += page.entries.map(\.sequence)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(sequences == Array((1...9).reversed()))

        let byPharmacist = try await alice.accessLog.listAccessLog(.with {
            $0.patientID = Self.alice
            $0.actorID = "pharm-1"
            $0.oldestFirst = true
        })
        #expect(byPharmacist.entries.map(\.sequence) == [2])

        // Nobody else reads the log: not professionals, not operators.
        for other in [pharmacist, helpdesk] {
            let error = await #expect(throws: RPCStatusError.self) {
                _ = try await other.accessLog.listAccessLog(.with { $0.patientID = Self.alice })
            }
            #expect(error?.code == .permissionDenied)
        }
        let badToken = await #expect(throws: RPCStatusError.self) {
            _ = try await alice.accessLog.listAccessLog(.with {
                $0.patientID = Self.alice
                $0.pageToken = "x"
            })
        }
        #expect(badToken?.code == .invalidArgument)
        for client in [helpdesk, alice, pharmacist] { await client.close() }
        await server.stop()
    }
}
