import DossierClient
import DossierCore
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Luxembourg's consultation access: the patient hands over a short code, the professional
/// redeems it once for a time-limited access.
@Suite struct PresenceCodeTests {
    static let alice = "1985010112345"

    func setUp(_ policy: PresenceCodePolicy = .init()) async throws -> (TestServer, DossierClient, DossierClient) {
        let server = try await TestServer(presenceCodes: policy)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Self.alice, as: helpdesk)
        await helpdesk.close()
        return (server, try await server.connect(kind: "patient", id: Self.alice),
                try await server.connect(kind: "professional", id: "gp-7", profession: "gp"))
    }

    func redeem(_ gp: DossierClient, _ code: String) async -> RPCStatusError? {
        do {
            _ = try await gp.access.redeemPresenceCode(.with {
                $0.patientID = Self.alice
                $0.code = code
            })
            return nil
        } catch {
            return error as? RPCStatusError
        }
    }

    @Test func codeIsRedeemedOnceForATimeLimitedAccess() async throws {
        let (server, alice, gp) = try await setUp()
        let issued = try await alice.access.issuePresenceCode(.with { $0.patientID = Self.alice })
        #expect(issued.code.count == 9 && issued.accessDuration.seconds == 86_400 && issued.scope == .standard)
        // Typed in lower case without the dash: still the code.
        let granted = try await gp.access.redeemPresenceCode(.with {
            $0.patientID = Self.alice
            $0.code = issued.code.lowercased().replacingOccurrences(of: "-", with: "")
        }).grant
        #expect(granted.basis == .presenceCode && granted.hasExpiresAt && granted.grantee.id == "gp-7")
        #expect(granted.expiresAt.date.timeIntervalSinceNow > 86_000)
        _ = try await gp.records.getRecord(.with { $0.patientID = Self.alice })
        // Single use.
        let colleague = try await server.connect(kind: "professional", id: "gp-8", profession: "gp")
        #expect(await redeem(colleague, issued.code)?.reason == "PRESENCE_CODE_INVALID")
        // The patient sees both attempts.
        let log = try await alice.accessLog.listAccessLog(.with {
            $0.patientID = Self.alice
            $0.operations = [.redeemPresenceCode]
            $0.oldestFirst = true
        })
        #expect(log.entries.map(\.outcome) == [.success, .denied])
        #expect(log.entries.last?.reason == "PRESENCE_CODE_USED")
        #expect(log.entries.map(\.actor.id) == ["gp-7", "gp-8"])
        for client in [alice, gp, colleague] { await client.close() }
        await server.stop()
    }

    @Test func expiredCodeGivesNothing() async throws {
        var policy = PresenceCodePolicy()
        policy.codeValidity = 1
        let (server, alice, gp) = try await setUp(policy)
        let issued = try await alice.access.issuePresenceCode(.with { $0.patientID = Self.alice })
        try await Task.sleep(for: .milliseconds(1_300))
        #expect(await redeem(gp, issued.code)?.code == .permissionDenied)
        await #expect(throws: RPCStatusError.self) { _ = try await gp.records.getRecord(.with { $0.patientID = Self.alice }) }
        for client in [alice, gp] { await client.close() }
        await server.stop()
    }

    @Test func guessingIsRateLimitedAndLooksTheSameEverywhere() async throws {
        let (server, alice, gp) = try await setUp()
        let issued = try await alice.access.issuePresenceCode(.with { $0.patientID = Self.alice })
        // A wrong code on an existing record and any code on a missing record look the same.
        let wrong = await redeem(gp, "AAAA-AAAA")
        let missing = await { () -> RPCStatusError? in
            do {
                _ = try await gp.access.redeemPresenceCode(.with {
                    $0.patientID = "1999999999999"
                    $0.code = issued.code
                })
                return nil
            } catch { return error as? RPCStatusError }
        }()
        #expect(wrong != nil && wrong == missing)
        for _ in 0..<3 { _ = await redeem(gp, "BBBB-BBBB") }
        // Five failures: even the right code is now refused for a while.
        let limited = await redeem(gp, issued.code)
        #expect(limited?.code == .resourceExhausted && limited?.reason == "PRESENCE_CODE_RATE_LIMITED")
        // Patients cannot redeem; professionals cannot issue.
        #expect(await redeem(alice, issued.code)?.code == .permissionDenied)
        await #expect(throws: RPCStatusError.self) { _ = try await gp.access.issuePresenceCode(.with { $0.patientID = Self.alice }) }
        for client in [alice, gp] { await client.close() }
        await server.stop()
    }
}
