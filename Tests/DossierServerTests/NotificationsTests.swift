import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// The patient is told of the first access by a new professional and of emergency access.
@Suite struct NotificationsTests {
    static let alice = "1985010112345"

    @Test func firstAccessAndEmergencyAreNotifiedOnce() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Self.alice, as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Self.alice)
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-1", profession: "pharmacist")
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician")
        _ = try await alice.access.grantAccess(.with {
            $0.patientID = Self.alice
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = "pharm-1"
            }
            $0.scope = .standard
            $0.mode = .read
        })
        for _ in 0..<3 { _ = try await pharmacist.records.getRecord(.with { $0.patientID = Self.alice }) }
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = Self.alice
            $0.reason = "unconscious patient admitted at night"
        })

        let listed = try await alice.notifications.listNotifications(.with { $0.patientID = Self.alice })
        #expect(listed.notifications.map(\.kind) == [.firstAccess, .emergencyAccess, .firstAccess])
        #expect(listed.notifications.map(\.actor.id) == ["er-1", "er-1", "pharm-1"])
        #expect(listed.unreadTotal == 3)
        #expect(listed.notifications.allSatisfy { $0.accessLogSequence > 0 })

        let marked = try await alice.notifications.markNotificationsRead(.with {
            $0.patientID = Self.alice
            $0.upToNotificationID = 2
        })
        #expect(marked.marked == 2 && marked.unreadTotal == 1)
        let unread = try await alice.notifications.listNotifications(.with {
            $0.patientID = Self.alice
            $0.unreadOnly = true
        })
        #expect(unread.notifications.map(\.notificationID) == [3])
        // Only the patient (or delegate) reads them.
        await #expect(throws: RPCStatusError.self) {
            _ = try await pharmacist.notifications.listNotifications(.with { $0.patientID = Self.alice })
        }
        for client in [helpdesk, alice, pharmacist, er] { await client.close() }
        await server.stop()
    }
}
