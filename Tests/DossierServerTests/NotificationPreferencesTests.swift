import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// EHDS Art. 9: the patient turns notification kinds on or off; emergency access is always
/// notified. Story: she turns off new-document notifications; a new deposit notifies nothing,
/// while an emergency access still does.
@Suite struct NotificationPreferencesTests {
    static func kinds(_ client: DossierClient) async throws -> [Dossier_V1_NotificationKind] {
        try await client.notifications.listNotifications(.with { $0.patientID = Docs.alice }).notifications.map(\.kind)
    }

    @Test func sheTurnsOffNewDocumentsAndStillHearsOfEmergencies() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Docs.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician")

        // Defaults: every kind on, emergency access always on.
        let defaults = try await alice.notifications.getNotificationPreferences(.with { $0.patientID = Docs.alice })
        #expect(defaults.preferences.map(\.kind) == [
            .firstAccess, .emergencyAccess, .newDocument, .grantExpiring, .referringPhysicianChanged, .rectificationCorrected,
            .rectificationDeclined,
        ])
        #expect(defaults.preferences.allSatisfy(\.enabled) && !defaults.hasUpdatedAt)
        #expect(defaults.preferences.filter(\.alwaysOn).map(\.kind) == [.emergencyAccess])

        // First access is notified once; then she turns new documents (and first accesses) off.
        try await Docs.grant(alice, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.deposit(gp, Docs.submission("lab-1"))
        #expect(try await Self.kinds(alice) == [.firstAccess, .newDocument])
        let set = try await alice.notifications.setNotificationPreferences(.with {
            $0.patientID = Docs.alice
            $0.preferences = [.with { $0.kind = .newDocument; $0.enabled = false }, .with { $0.kind = .firstAccess; $0.enabled = false }]
        })
        #expect(set.preferences.filter { !$0.enabled }.map(\.kind) == [.firstAccess, .newDocument] && set.hasUpdatedAt)
        let read = try await alice.notifications.getNotificationPreferences(.with { $0.patientID = Docs.alice })
        #expect(read.preferences == set.preferences)

        // Emergency access cannot be turned off: refused, nothing changed.
        let refused = await Docs.status {
            _ = try await alice.notifications.setNotificationPreferences(.with {
                $0.patientID = Docs.alice
                $0.preferences = [.with { $0.kind = .emergencyAccess; $0.enabled = false }, .with { $0.kind = .grantExpiring; $0.enabled = false }]
            })
        }
        #expect(refused?.code == .invalidArgument && refused?.reason == "NOTIFICATION_ALWAYS_ON")
        let unspecified = await Docs.status {
            _ = try await alice.notifications.setNotificationPreferences(.with {
                $0.patientID = Docs.alice
                $0.preferences = [.with { $0.kind = .unspecified }]
            })
        }
        #expect(unspecified?.code == .invalidArgument && unspecified?.reason == "INVALID_ENUM")
        #expect(try await alice.notifications.getNotificationPreferences(.with { $0.patientID = Docs.alice }).preferences == set.preferences)

        // A new deposit notifies nothing; the emergency access still does (its first access not).
        try await Docs.deposit(gp, Docs.submission("lab-2", title: "Lipids"))
        #expect(try await Self.kinds(alice) == [.firstAccess, .newDocument])
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = Docs.alice
            $0.reason = "unconscious patient admitted at night"
        })
        #expect(try await Self.kinds(alice) == [.emergencyAccess, .firstAccess, .newDocument])

        // Turned on again: the next deposit is notified (nothing of what happened meanwhile).
        _ = try await alice.notifications.setNotificationPreferences(.with {
            $0.patientID = Docs.alice
            $0.preferences = [.with { $0.kind = .newDocument; $0.enabled = true }]
        })
        try await Docs.deposit(gp, Docs.submission("lab-3", title: "Glucose"))
        #expect(try await Self.kinds(alice) == [.newDocument, .emergencyAccess, .firstAccess, .newDocument])

        // Only the patient or delegate: others are refused, and the refusal is logged.
        for other in [gp, helpdesk] {
            let denied = await Docs.status { _ = try await other.notifications.getNotificationPreferences(.with { $0.patientID = Docs.alice }) }
            #expect(denied?.code == .permissionDenied)
            let deniedSet = await Docs.status {
                _ = try await other.notifications.setNotificationPreferences(.with {
                    $0.patientID = Docs.alice
                    $0.preferences = [.with { $0.kind = .newDocument; $0.enabled = false }]
                })
            }
            #expect(deniedSet?.code == .permissionDenied)
        }
        let log = try await Docs.log(alice)
        let sets = log.filter { $0.operation == .setNotificationPreferences }
        // (UNSPECIFIED is refused before the record is read: not logged.)
        #expect(sets.map(\.outcome) == [.success, .failed, .success, .denied, .denied])
        #expect(sets[1].reason == "NOTIFICATION_ALWAYS_ON")
        let gets = log.filter { $0.operation == .getNotificationPreferences }
        #expect(gets.map(\.outcome) == [.success, .success, .success, .denied, .denied])
        #expect(gets.filter { $0.outcome == .denied }.map(\.actor.id) == ["gp-1001", "op-1"])
        for client in [helpdesk, alice, gp, er] { await client.close() }
        await server.stop()
    }
}
