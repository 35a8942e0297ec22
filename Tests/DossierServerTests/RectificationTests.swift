import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// EHDS Art. 5: the patient asks for a document to be corrected; the author or the referring
/// physician answers by replacing it (the request closes, linked to the new version) or by
/// declining with a reason; the patient is notified; every step is in the access log.
@Suite struct RectificationTests {
    static let reason = "The haemoglobin value belongs to another patient: mine was 13.9 g/dL on that day"

    struct Cast {
        let server: TestServer
        let helpdesk, alice, gp, lab, pharmacist: DossierClient

        static func make() async throws -> Cast {
            let server = try await TestServer()
            let helpdesk = try await server.connect(kind: "operator", id: "op-1")
            _ = try await helpdesk.records.openRecord(.with {
                $0.patientID = Docs.alice
                $0.enrollment = .referringPhysician
                $0.referringPhysicianID = "gp-1001"
                $0.skipObjectionPeriod = true
            })
            let alice = try await server.connect(kind: "patient", id: Docs.alice)
            try await Docs.grant(alice, to: "lab-7", scope: .standard, mode: .readWrite)
            try await Docs.grant(alice, to: "pharm-2001")
            return Cast(
                server: server, helpdesk: helpdesk, alice: alice,
                gp: try await server.connect(kind: "professional", id: "gp-1001", profession: "gp"),
                lab: try await server.connect(kind: "professional", id: "lab-7", profession: "lab_biologist"),
                pharmacist: try await server.connect(kind: "professional", id: "pharm-2001", profession: "pharmacist"))
        }

        func end() async {
            for client in [helpdesk, alice, gp, lab, pharmacist] { await client.close() }
            await server.stop()
        }
    }

    static func list(_ client: DossierClient, openOnly: Bool = false) async throws -> [Dossier_V1_RectificationRequest] {
        try await client.rectification.listRectificationRequests(.with {
            $0.patientID = Docs.alice
            $0.openOnly = openOnly
        }).requests
    }

    @Test func sheAsksTheGPToCorrectALabReportAndSeesTheLinkAndTheAnswer() async throws {
        let cast = try await Cast.make()
        let report = try await Docs.deposit(cast.lab, Docs.submission("lab-1"))

        let asked = try await cast.alice.rectification.requestRectification(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.reason = Self.reason
        }).request
        #expect(asked.status == .open && asked.rectificationRequestID.hasPrefix("r-") && asked.requestedBy.id == Docs.alice)
        #expect(asked.reason == Self.reason && !asked.hasAnsweredAt)

        // The referring physician and the author see it; a pharmacist with a grant does not.
        #expect(try await Self.list(cast.gp, openOnly: true).map(\.rectificationRequestID) == [asked.rectificationRequestID])
        #expect(try await Self.list(cast.lab).map(\.reason) == [Self.reason])
        #expect(try await Self.list(cast.pharmacist).isEmpty)
        let operatorList = await Docs.status { _ = try await Self.list(cast.helpdesk) }
        #expect(operatorList?.code == .permissionDenied)

        // The GP answers with a corrected version: the request closes, linked to it.
        let corrected = try await cast.gp.documents.replaceDocument(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.submission = Docs.submission("lab-1-corrected", title: "Blood count (corrected)")
            $0.content = Data("corrected report".utf8)
        })
        let closed = try #require(try await Self.list(cast.alice).first)
        #expect(closed.status == .corrected && closed.replacementDocumentID == corrected.document.documentID)
        #expect(closed.answeredBy.id == "gp-1001" && closed.hasAnsweredAt)
        #expect(try await Self.list(cast.gp, openOnly: true).isEmpty)
        let newVersion = try await Docs.get(cast.alice, closed.replacementDocumentID)
        #expect(newVersion.replacesDocumentID == report.documentID && newVersion.title == "Blood count (corrected)")

        // She is told, with the new version and the request.
        let told = try await cast.alice.notifications.listNotifications(.with { $0.patientID = Docs.alice }).notifications
        #expect(told.prefix(2).map(\.kind) == [.rectificationCorrected, .newDocument])
        let answer = try #require(told.first { $0.kind == .rectificationCorrected })
        #expect(answer.kind == .rectificationCorrected && answer.rectificationRequestID == asked.rectificationRequestID)
        #expect(answer.documentIds == [corrected.document.documentID, report.documentID] && answer.actor.id == "gp-1001")

        // Every step is in her log.
        let log = try await Docs.log(cast.alice)
        let steps = log.filter { [.requestRectification, .listRectificationRequests, .replaceDocument].contains($0.operation) }
        #expect(steps.map(\.operation) == [
            .requestRectification, .listRectificationRequests, .listRectificationRequests, .listRectificationRequests,
            .listRectificationRequests, .replaceDocument, .listRectificationRequests, .listRectificationRequests,
        ])
        #expect(steps[0].documentIds == [report.documentID] && steps[0].actor.id == Docs.alice)
        #expect(steps[1].actor.id == "gp-1001" && steps[1].documentIds == [report.documentID])
        #expect(steps[3].actor.id == "pharm-2001" && steps[3].documentIds.isEmpty)
        #expect(steps[5].documentIds == [corrected.document.documentID, report.documentID])
        #expect(log.contains { $0.operation == .listRectificationRequests && $0.outcome == .denied && $0.actor.id == "op-1" })

        // A replaced document takes no new request.
        let again = await Docs.status {
            _ = try await cast.alice.rectification.requestRectification(.with {
                $0.patientID = Docs.alice
                $0.documentID = report.documentID
                $0.reason = Self.reason
            })
        }
        #expect(again?.code == .failedPrecondition && again?.reason == "DOCUMENT_DEPRECATED")

        await cast.end()
    }

    @Test func theAuthorDeclinesWithAReasonAndOthersCannot() async throws {
        let cast = try await Cast.make()
        let report = try await Docs.deposit(cast.lab, Docs.submission("lab-1"))
        let note = try await Docs.deposit(cast.alice, Docs.submission("note-1", .patientProvided, title: "My note"))
        let asked = try await cast.alice.rectification.requestRectification(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.reason = Self.reason
        }).request

        // The patient's own note is hers to change; empty reasons, professionals asking: refused.
        let ownNote = await Docs.status {
            _ = try await cast.alice.rectification.requestRectification(.with {
                $0.patientID = Docs.alice
                $0.documentID = note.documentID
                $0.reason = "typo"
            })
        }
        #expect(ownNote?.code == .failedPrecondition && ownNote?.reason == "PATIENT_SPACE_DOCUMENT")
        let empty = await Docs.status {
            _ = try await cast.alice.rectification.requestRectification(.with {
                $0.patientID = Docs.alice
                $0.documentID = report.documentID
                $0.reason = "  "
            })
        }
        #expect(empty?.code == .invalidArgument && empty?.reason == "INVALID_REASON")
        let byGP = await Docs.status {
            _ = try await cast.gp.rectification.requestRectification(.with {
                $0.patientID = Docs.alice
                $0.documentID = report.documentID
                $0.reason = Self.reason
            })
        }
        #expect(byGP?.code == .permissionDenied)

        // Neither the pharmacist nor the patient declines; the author does.
        func decline(_ client: DossierClient, _ reason: String = "The value was checked again with the sample: it is right") async -> RPCStatusError? {
            await Docs.status {
                _ = try await client.rectification.declineRectification(.with {
                    $0.patientID = Docs.alice
                    $0.rectificationRequestID = asked.rectificationRequestID
                    $0.reason = reason
                })
            }
        }
        #expect(await decline(cast.pharmacist)?.code == .notFound)
        #expect(await decline(cast.alice)?.code == .permissionDenied)
        #expect(await decline(cast.lab, "")?.reason == "INVALID_REASON")
        #expect(await decline(cast.lab) == nil)
        #expect(await decline(cast.gp)?.reason == "RECTIFICATION_CLOSED")

        let answered = try #require(try await Self.list(cast.alice).first)
        #expect(answered.status == .declined && answered.answer == "The value was checked again with the sample: it is right")
        #expect(answered.answeredBy.id == "lab-7" && answered.replacementDocumentID.isEmpty)
        let told = try #require(try await cast.alice.notifications.listNotifications(.with { $0.patientID = Docs.alice }).notifications.first)
        #expect(told.kind == .rectificationDeclined && told.rectificationRequestID == asked.rectificationRequestID)
        #expect(told.documentIds == [report.documentID])

        let declines = try await Docs.log(cast.alice).filter { $0.operation == .declineRectification }
        // (An empty reason is refused before the record is read: not logged.)
        #expect(declines.map(\.outcome) == [.denied, .denied, .success, .failed])
        #expect(declines.map(\.actor.id) == ["pharm-2001", Docs.alice, "lab-7", "gp-1001"])
        #expect(declines[0].reason == "NOT_AUTHOR" && declines[1].reason == "PROFESSIONALS_ONLY")

        // A deprecation answers the open requests too, with its reason.
        let second = try await cast.alice.rectification.requestRectification(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.reason = "Still wrong"
        }).request
        _ = try await cast.lab.documents.deprecateDocument(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.reason = "sample mix-up"
        })
        let afterDeprecation = try #require(try await Self.list(cast.alice).first { $0.rectificationRequestID == second.rectificationRequestID })
        #expect(afterDeprecation.status == .declined && afterDeprecation.answer == "sample mix-up")

        // Nothing of the reason is in clear on disk.
        await cast.server.stop(removeData: false)
        #expect(EncryptionAtRestTests.occurrences(of: "haemoglobin value belongs", under: cast.server.dataDirectory).isEmpty)
        #expect(EncryptionAtRestTests.occurrences(of: "checked again with the sample", under: cast.server.dataDirectory).isEmpty)
        for client in [cast.helpdesk, cast.alice, cast.gp, cast.lab, cast.pharmacist] { await client.close() }
        try? FileManager.default.removeItem(atPath: cast.server.dataDirectory)
        try? FileManager.default.removeItem(atPath: TestServer.keyStorePath(of: cast.server.dataDirectory))
        try? FileManager.default.removeItem(atPath: cast.server.dataDirectory + ".log-signing-key")
        cast.server.pki.remove()
    }

    /// A correction hidden from the patient answers her request only at its release: before,
    /// she sees no trace of it (decision 0005).
    @Test func aHiddenCorrectionAnswersAtItsRelease() async throws {
        let cast = try await Cast.make()
        let report = try await Docs.deposit(cast.lab, Docs.submission("lab-1"))
        let asked = try await cast.alice.rectification.requestRectification(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.reason = Self.reason
        }).request
        let hidden = try await cast.lab.documents.replaceDocument(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.submission = Docs.submission("lab-1-corrected", title: "Blood count (corrected)", hidden: true)
            $0.content = Data("corrected report".utf8)
        }).document
        #expect(try await Self.list(cast.alice).map(\.status) == [.open])
        let before = try await cast.alice.notifications.listNotifications(.with { $0.patientID = Docs.alice }).notifications
        #expect(!before.contains { $0.kind == .rectificationCorrected })
        _ = try await cast.lab.documents.releaseDocumentToPatient(.with {
            $0.patientID = Docs.alice
            $0.documentID = hidden.documentID
        })
        let answered = try #require(try await Self.list(cast.alice).first)
        #expect(answered.rectificationRequestID == asked.rectificationRequestID)
        #expect(answered.status == .corrected && answered.replacementDocumentID == hidden.documentID)
        let told = try await cast.alice.notifications.listNotifications(.with { $0.patientID = Docs.alice }).notifications
        #expect(told.first { $0.kind == .rectificationCorrected }?.documentIds == [hidden.documentID, report.documentID])
        await cast.end()
    }

    /// Her delegate acts with her rights: chooses her notifications and asks for a correction;
    /// the delegate's calls are logged as the delegate's.
    @Test func aDelegateChoosesNotificationsAndAsksForACorrection() async throws {
        let cast = try await Cast.make()
        let bobID = "1990020254321"
        _ = try await cast.alice.access.nameDelegate(.with {
            $0.patientID = Docs.alice
            $0.delegateID = bobID
        })
        let bob = try await cast.server.connect(kind: "patient", id: bobID)
        let report = try await Docs.deposit(cast.lab, Docs.submission("lab-1"))
        _ = try await bob.notifications.setNotificationPreferences(.with {
            $0.patientID = Docs.alice
            $0.preferences = [.with { $0.kind = .rectificationDeclined; $0.enabled = false }]
        })
        let seen = try await cast.alice.notifications.getNotificationPreferences(.with { $0.patientID = Docs.alice })
        #expect(seen.preferences.filter { !$0.enabled }.map(\.kind) == [.rectificationDeclined])
        let asked = try await bob.rectification.requestRectification(.with {
            $0.patientID = Docs.alice
            $0.documentID = report.documentID
            $0.reason = Self.reason
        }).request
        #expect(asked.requestedBy.id == bobID)
        _ = try await cast.lab.rectification.declineRectification(.with {
            $0.patientID = Docs.alice
            $0.rectificationRequestID = asked.rectificationRequestID
            $0.reason = "The value is right"
        })
        // Declines are turned off: the answer is in the list, not in the notifications.
        #expect(try await Self.list(cast.alice).first?.status == .declined)
        let told = try await cast.alice.notifications.listNotifications(.with { $0.patientID = Docs.alice }).notifications
        #expect(!told.contains { $0.kind == .rectificationDeclined })
        let log = try await Docs.log(cast.alice)
        let byBob = log.filter { $0.actor.id == bobID }
        #expect(byBob.map(\.operation) == [.setNotificationPreferences, .requestRectification] && byBob.allSatisfy { $0.basis == .delegate })
        await bob.close()
        await cast.end()
    }
}
