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

/// The maintenance job tells the patient, once per grant, that a grant expires within a week.
@Suite struct GrantExpiringTests {
    @Test func aGrantExpiringWithinAWeekIsNotifiedOnce() async throws {
        let server = try await TestServer(maintenanceInterval: .milliseconds(100))
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let soon = try await patient.access.grantAccess(.with {
            $0.patientID = Docs.alice
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = "gp-1001"
            }
            $0.scope = .standard
            $0.mode = .read
            $0.expiresAt = .init(date: Date() + 2 * 86_400)
        }).grant
        _ = try await patient.access.grantAccess(.with {
            $0.patientID = Docs.alice
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = "pharm-2001"
            }
            $0.scope = .standard
            $0.mode = .read
            $0.expiresAt = .init(date: Date() + 30 * 86_400)
        })
        var expiring: [Dossier_V1_Notification] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while expiring.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            expiring = try await patient.notifications.listNotifications(.with { $0.patientID = Docs.alice })
                .notifications.filter { $0.kind == .grantExpiring }
        }
        try await Task.sleep(for: .milliseconds(400))  // a few more rounds of the job
        expiring = try await patient.notifications.listNotifications(.with { $0.patientID = Docs.alice })
            .notifications.filter { $0.kind == .grantExpiring }
        #expect(expiring.count == 1 && expiring.first?.grantID == soon.grantID && expiring.first?.actor.id == "gp-1001")
        await server.stop()
    }
}
