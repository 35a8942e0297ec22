import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// The patient's control over access, through the real server.
@Suite struct AccessTests {
    static let alice = "1985010112345"
    static let bob = "1990020254321"

    struct Cast {
        let server: TestServer
        let helpdesk: DossierClient
        let alice: DossierClient
        let bob: DossierClient
        let pharmacist: DossierClient
        let nurse: DossierClient

        static func make() async throws -> Cast {
            let server = try await TestServer()
            let cast = Cast(
                server: server,
                helpdesk: try await server.connect(kind: "operator", id: "op-1"),
                alice: try await server.connect(kind: "patient", id: AccessTests.alice),
                bob: try await server.connect(kind: "patient", id: AccessTests.bob),
                pharmacist: try await server.connect(kind: "professional", id: "pharm-1", profession: "pharmacist", organisation: "pharmacie-centrale"),
                nurse: try await server.connect(kind: "professional", id: "nurse-1", profession: "nurse"))
            try await server.openActiveRecord(AccessTests.alice, as: cast.helpdesk)
            return cast
        }

        func end() async {
            for client in [helpdesk, alice, bob, pharmacist, nurse] { await client.close() }
            await server.stop()
        }
    }

    func code(_ body: () async throws -> Void) async -> StatusCode? {
        do {
            try await body()
            return .ok
        } catch let error as RPCStatusError {
            return error.code
        } catch {
            return nil
        }
    }

    func canRead(_ client: DossierClient) async -> Bool {
        await code { _ = try await client.records.getRecord(.with { $0.patientID = Self.alice }) } == .ok
    }

    func grant(_ by: DossierClient, to id: String, kind: Dossier_V1_PrincipalKind = .professional,
               scope: Dossier_V1_AccessScope = .standard, expires: Date? = nil) async throws -> Dossier_V1_GrantAccessResponse {
        try await by.access.grantAccess(.with {
            $0.patientID = Self.alice
            $0.grantee = .with {
                $0.kind = kind
                $0.id = id
            }
            $0.scope = scope
            $0.mode = .read
            if let expires { $0.expiresAt = Google_Protobuf_Timestamp(date: expires) }
        })
    }

    @Test func grantGivesAccessAndRevokeTakesItBack() async throws {
        let cast = try await Cast.make()
        #expect(await !canRead(cast.pharmacist))
        let granted = try await grant(cast.alice, to: "pharm-1")
        #expect(granted.grant.state == .active && granted.grant.basis == .grant && granted.replacedGrantID.isEmpty)
        #expect(await canRead(cast.pharmacist))
        let mine = try await cast.pharmacist.access.getMyAccess(.with { $0.patientID = Self.alice })
        #expect(mine.basis == .grant && mine.scope == .standard && mine.mode == .read && mine.paths.count == 1)
        // Granting again replaces the grant.
        let again = try await grant(cast.alice, to: "pharm-1", scope: .extended)
        #expect(again.replacedGrantID == granted.grant.grantID)
        let listed = try await cast.alice.access.listGrants(.with { $0.patientID = Self.alice })
        #expect(listed.grants.map(\.grantID) == [again.grant.grantID])
        let all = try await cast.alice.access.listGrants(.with {
            $0.patientID = Self.alice
            $0.includeInactive = true
        })
        #expect(Set(all.grants.map(\.state)) == [.active, .revoked])
        _ = try await cast.alice.access.revokeAccess(.with {
            $0.patientID = Self.alice
            $0.grantID = again.grant.grantID
        })
        #expect(await !canRead(cast.pharmacist))
        // Professionals decide nothing about access.
        #expect(await code { _ = try await grant(cast.pharmacist, to: "nurse-1") } == .permissionDenied)
        await cast.end()
    }

    @Test func organisationGrantCoversItsProfessionals() async throws {
        let cast = try await Cast.make()
        _ = try await grant(cast.alice, to: "pharmacie-centrale", kind: .organisation)
        #expect(await canRead(cast.pharmacist))
        #expect(await !canRead(cast.nurse))
        await cast.end()
    }

    @Test func expiredGrantGivesNothing() async throws {
        let cast = try await Cast.make()
        #expect(await code { _ = try await grant(cast.alice, to: "pharm-1", expires: Date() - 60) } == .invalidArgument)
        // Long enough for the first read to happen before the end even on a loaded machine.
        let end = Date() + 10
        _ = try await grant(cast.alice, to: "pharm-1", expires: end)
        #expect(await canRead(cast.pharmacist))
        try await Task.sleep(for: .seconds(max(0, end.timeIntervalSinceNow) + 0.5))
        #expect(await !canRead(cast.pharmacist))
        await cast.end()
    }

    @Test func closingSuspendsGrantsAndReopeningRestoresThem() async throws {
        let cast = try await Cast.make()
        _ = try await grant(cast.alice, to: "pharm-1")
        _ = try await cast.alice.records.closeRecord(.with { $0.patientID = Self.alice })
        #expect(await !canRead(cast.pharmacist))
        #expect(await code { _ = try await grant(cast.alice, to: "nurse-1") } == .failedPrecondition)
        _ = try await cast.alice.records.reopenRecord(.with { $0.patientID = Self.alice })
        #expect(await canRead(cast.pharmacist))
        await cast.end()
    }

    @Test func blockingEndsAccessAndPreventsNewGrants() async throws {
        let cast = try await Cast.make()
        let granted = try await grant(cast.alice, to: "pharm-1")
        let blocked = try await cast.alice.access.blockProfessional(.with {
            $0.patientID = Self.alice
            $0.professionalID = "pharm-1"
            $0.label = "not my pharmacy"
        })
        #expect(blocked.revokedGrantIds == [granted.grant.grantID])
        #expect(await !canRead(cast.pharmacist))
        // Not even through an organisation grant.
        _ = try await grant(cast.alice, to: "pharmacie-centrale", kind: .organisation)
        #expect(await !canRead(cast.pharmacist))
        let refused = await code { _ = try await grant(cast.alice, to: "pharm-1") }
        #expect(refused == .failedPrecondition)
        let blocks = try await cast.alice.access.listBlocks(.with { $0.patientID = Self.alice })
        #expect(blocks.blocks.map(\.professionalID) == ["pharm-1"])
        _ = try await cast.alice.access.unblockProfessional(.with {
            $0.patientID = Self.alice
            $0.professionalID = "pharm-1"
        })
        #expect(await canRead(cast.pharmacist))
        await cast.end()
    }

    @Test func delegateActsForThePatient() async throws {
        let cast = try await Cast.make()
        #expect(await !canRead(cast.bob))
        let named = try await cast.alice.access.nameDelegate(.with {
            $0.patientID = Self.alice
            $0.delegateID = Self.bob
            $0.label = "my brother"
        })
        #expect(named.delegation.delegateID == Self.bob)
        #expect(await canRead(cast.bob))
        let mine = try await cast.bob.access.listMyDelegations(.init())
        #expect(mine.delegations.map(\.patientID) == [Self.alice])
        _ = try await grant(cast.bob, to: "nurse-1")
        #expect(await canRead(cast.nurse))
        // A delegate cannot name delegates, but may step down.
        let naming = await code { _ = try await cast.bob.access.nameDelegate(.with {
            $0.patientID = Self.alice
            $0.delegateID = "2001030398765"
        }) }
        #expect(naming == .permissionDenied)
        _ = try await cast.bob.access.removeDelegate(.with {
            $0.patientID = Self.alice
            $0.delegateID = Self.bob
        })
        #expect(await !canRead(cast.bob))
        #expect(try await cast.bob.access.listMyDelegations(.init()).delegations.isEmpty)
        #expect(await code { _ = try await cast.nurse.access.listMyDelegations(.init()) } == .permissionDenied)
        await cast.end()
    }

    @Test func referringPhysicianAndEmergencyPreference() async throws {
        let cast = try await Cast.make()
        let record = try await cast.helpdesk.access.setReferringPhysician(.with {
            $0.patientID = Self.alice
            $0.professionalID = "nurse-1"
        }).record
        #expect(record.referringPhysicianID == "nurse-1" && record.enrollment == .referringPhysician)
        #expect(await canRead(cast.nurse))
        let blockReferring = await code { _ = try await cast.alice.access.blockProfessional(.with {
            $0.patientID = Self.alice
            $0.professionalID = "nurse-1"
        }) }
        #expect(blockReferring == .failedPrecondition)
        let preference = try await cast.alice.access.setEmergencyPreference(.with {
            $0.patientID = Self.alice
            $0.preference = .refuse
        })
        #expect(preference.preference == .refuse)
        #expect(try await cast.alice.access.getEmergencyPreference(.with { $0.patientID = Self.alice }).preference == .refuse)
        #expect(await code { _ = try await cast.nurse.access.getEmergencyPreference(.with { $0.patientID = Self.alice }) } == .permissionDenied)
        // The patient refused emergency access in advance.
        #expect(await code { _ = try await cast.nurse.access.openEmergencyAccess(.with {
            $0.patientID = Self.alice
            $0.reason = "unconscious patient in the emergency room"
        }) } == .permissionDenied)
        await cast.end()
    }

    @Test func getMyAccessNeverRevealsExistence() async throws {
        let cast = try await Cast.make()
        let existing = try await cast.pharmacist.access.getMyAccess(.with { $0.patientID = Self.alice })
        let missing = try await cast.pharmacist.access.getMyAccess(.with { $0.patientID = "1999999999999" })
        #expect(existing == missing && existing.basis == .none)
        await cast.end()
    }
}
