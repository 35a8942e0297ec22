import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Break-glass access: allowed professions, mandatory reason, time-limited, always flagged,
/// refused when the patient refused it or blocked the professional.
@Suite struct EmergencyAccessTests {
    static let alice = "1985010112345"
    static let reason = "unconscious patient admitted to the emergency room"

    func open(_ client: DossierClient, reason: String = Self.reason) async -> RPCStatusError? {
        do {
            _ = try await client.access.openEmergencyAccess(.with {
                $0.patientID = Self.alice
                $0.reason = reason
            })
            return nil
        } catch {
            return error as? RPCStatusError
        }
    }

    @Test func breakTheGlassIsFlaggedAndRefusableByThePatient() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Self.alice, as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Self.alice)
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician", organisation: "chl")
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-1", profession: "pharmacist")

        #expect(await open(er, reason: "help")?.code == .invalidArgument)
        #expect(await open(pharmacist)?.code == .permissionDenied)
        #expect(await open(er) == nil)
        _ = try await er.records.getRecord(.with { $0.patientID = Self.alice })
        let mine = try await er.access.getMyAccess(.with { $0.patientID = Self.alice })
        #expect(mine.basis == .emergency && mine.scope == .extended && mine.hasExpiresAt)

        let flagged = try await alice.accessLog.listAccessLog(.with {
            $0.patientID = Self.alice
            $0.emergencyOnly = true
            $0.oldestFirst = true
        })
        #expect(flagged.entries.map(\.operation) == [.openEmergencyAccess, .getRecord, .getMyAccess])
        #expect(flagged.entries.allSatisfy { $0.actor.id == "er-1" && $0.basis == .emergency })
        let grants = try await alice.access.listGrants(.with {
            $0.patientID = Self.alice
            $0.bases = [.emergency]
        })
        #expect(grants.grants.first?.emergencyReason == Self.reason)

        // Refused in advance, or blocked: unavailable, with one answer for both.
        _ = try await alice.access.setEmergencyPreference(.with {
            $0.patientID = Self.alice
            $0.preference = .refuse
        })
        let refused = await open(er)
        #expect(refused?.code == .permissionDenied && refused?.reason == "EMERGENCY_ACCESS_UNAVAILABLE")
        _ = try await alice.access.setEmergencyPreference(.with {
            $0.patientID = Self.alice
            $0.preference = .allow
        })
        _ = try await alice.access.blockProfessional(.with {
            $0.patientID = Self.alice
            $0.professionalID = "er-1"
        })
        #expect(await open(er) == refused)
        await #expect(throws: RPCStatusError.self) { _ = try await er.records.getRecord(.with { $0.patientID = Self.alice }) }
        for client in [helpdesk, alice, er, pharmacist] { await client.close() }
        await server.stop()
    }
}
