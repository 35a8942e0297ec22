import Crypto
import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// The user stories of the care record, against a real server with real certificates.
@Suite struct DocumentStoriesTests {
    let alice = Docs.alice

    @Test func aGPDepositsALabResultAndThePatientSeesIt() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp", organisation: "practice-kirchberg")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)

        let content = Array("Hb 14.2 g/dL".utf8)
        let document = try await Docs.deposit(gp, Docs.submission("lab-2026-0001"), content: content)
        #expect(document.author.id == "gp-1001" && document.sizeBytes == UInt64(content.count))
        #expect(document.sha256 == Data(SHA256.hash(data: content)))
        #expect(document.status == .current && document.confidentiality == .normal && !document.patientSpace)

        // A retried deposit returns the same document; the same id with other content is refused.
        let retry = try await gp.documents.depositDocument(.with {
            $0.patientID = alice
            $0.submission = Docs.submission("lab-2026-0001")
            $0.content = Data(content)
        })
        #expect(retry.alreadyExisted && retry.document.documentID == document.documentID)
        let reused = await Docs.status { try await Docs.deposit(gp, Docs.submission("lab-2026-0001"), content: Array("other".utf8)) }
        #expect(reused?.code == .alreadyExists && reused?.reason == "CLIENT_UNIQUE_ID_REUSED")

        #expect(try await Docs.find(patient) == [document.documentID])
        let (bytes, sha) = try await Docs.download(patient, document.documentID, step: 5)
        #expect(bytes == content && sha == [UInt8](SHA256.hash(data: content)))
        let notifications = try await patient.notifications.listNotifications(.with { $0.patientID = alice }).notifications
        #expect(notifications.contains { $0.kind == .newDocument && $0.documentIds == [document.documentID] })
        let log = try await Docs.log(patient)
        #expect(log.contains { $0.operation == .depositDocument && $0.documentIds == [document.documentID] && $0.outcome == .success })
        #expect(log.contains { $0.operation == .readDocumentContent && $0.actor.kind == .patient })
        await server.stop()
    }

    @Test func aPharmacistCannotSeeARestrictedPsychiatricReportAndThePatientSeesTheAttempt() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let psychiatrist = try await server.connect(kind: "professional", id: "psy-4001", profession: "psychiatrist")
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-2001", profession: "pharmacist")
        try await Docs.grant(patient, to: "psy-4001", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "pharm-2001")

        let report = try await Docs.deposit(psychiatrist, Docs.submission(
            "psy-1", .report, title: "Psychiatric assessment", categories: [.psychiatry], confidentiality: .restricted))
        let prescription = try await Docs.deposit(psychiatrist, Docs.submission("rx-1", .prescription, title: "Prescription"))

        #expect(try await Docs.find(pharmacist) == [prescription.documentID])
        #expect(try await Docs.find(pharmacist) { $0.confidentialityLevels = [.restricted] } == [])
        let denied = await Docs.status { _ = try await Docs.get(pharmacist, report.documentID) }
        let missing = await Docs.status { _ = try await Docs.get(pharmacist, "d0000000099-00000000") }
        #expect(denied?.code == .notFound && denied?.reason == "DOCUMENT_NOT_FOUND")
        #expect(denied == missing)  // same status, reason and message: existence does not leak
        let overview = try await pharmacist.documents.getRecordOverview(.with { $0.patientID = alice })
        #expect(overview.visibleDocuments == 1 && overview.classCounts.map(\.documentClass) == [.prescription])

        let attempts = try await Docs.log(patient).filter { $0.operation == .getDocument && $0.outcome == .denied }
        let attempt = attempts.first { $0.documentIds == [report.documentID] }
        #expect(attempt?.actor.id == "pharm-2001" && attempt?.reason == "DOCUMENT_NOT_VISIBLE")
        #expect(attempts.contains { $0.documentIds == ["d0000000099-00000000"] && $0.reason == "DOCUMENT_NOT_FOUND" })
        await server.stop()
    }

    @Test func thePatientMasksADocumentAndAGrantedNurseNoLongerFindsItButItsAuthorDoes() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let nurse = try await server.connect(kind: "professional", id: "nurse-3001", profession: "nurse")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "nurse-3001", scope: .extended)

        let summary = try await Docs.deposit(gp, Docs.submission("sum-1", .summary, title: "Patient summary"))
        #expect(try await Docs.find(nurse) == [summary.documentID])
        let masked = try await patient.documents.setDocumentConfidentiality(.with {
            $0.patientID = alice
            $0.documentID = summary.documentID
            $0.confidentiality = .secret
        }).document
        #expect(masked.confidentiality == .secret && masked.authorConfidentiality == .normal)
        #expect(try await Docs.find(nurse) == [])
        #expect(try await Docs.find(gp) == [summary.documentID])
        #expect(try await Docs.find(patient) == [summary.documentID])

        // Only the patient decides: the author who sees it is told so, the nurse who does not
        // see it is told it does not exist.
        let byAuthor = await Docs.status {
            _ = try await gp.documents.setDocumentConfidentiality(.with {
                $0.patientID = alice
                $0.documentID = summary.documentID
                $0.confidentiality = .normal
            })
        }
        #expect(byAuthor?.code == .permissionDenied && byAuthor?.reason == "PATIENT_ONLY")
        let byNurse = await Docs.status {
            _ = try await nurse.documents.setDocumentConfidentiality(.with {
                $0.patientID = alice
                $0.documentID = summary.documentID
                $0.confidentiality = .normal
            })
        }
        #expect(byNurse?.code == .notFound)

        _ = try await patient.documents.setDocumentConfidentiality(.with {
            $0.patientID = alice
            $0.documentID = summary.documentID
            $0.confidentiality = .normal
        })
        #expect(try await Docs.find(nurse) == [summary.documentID])
        await server.stop()
    }

    @Test func anEmergencyPhysicianSeesNonSecretDocumentsFlaggedAndNotified() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let er = try await server.connect(kind: "professional", id: "er-5001", profession: "emergency_physician", organisation: "chl")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let normal = try await Docs.deposit(gp, Docs.submission("a", .summary, title: "Summary"))
        let restricted = try await Docs.deposit(gp, Docs.submission("b", .report, title: "Letter", confidentiality: .restricted))
        _ = try await Docs.deposit(gp, Docs.submission("c", .report, title: "Secret", confidentiality: .secret))

        let before = await Docs.status { _ = try await Docs.find(er) }
        #expect(before?.code == .permissionDenied)
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = alice
            $0.reason = "unconscious patient admitted to the emergency room"
        })
        #expect(Set(try await Docs.find(er)) == [normal.documentID, restricted.documentID])

        let flagged = try await Docs.log(patient).filter { $0.operation == .findDocuments && $0.actor.id == "er-5001" && $0.outcome == .success }
        #expect(flagged.count == 1 && flagged[0].emergency && flagged[0].basis == .emergency)
        let notifications = try await patient.notifications.listNotifications(.with { $0.patientID = alice }).notifications
        #expect(notifications.contains { $0.kind == .emergencyAccess && $0.actor.id == "er-5001" })
        await server.stop()
    }

    @Test func closingTheRecordEndsEveryAccessAndReopeningRestoresIt() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let document = try await Docs.deposit(gp, Docs.submission("a"))

        _ = try await patient.records.closeRecord(.with { $0.patientID = alice })
        let find = await Docs.status { _ = try await Docs.find(gp) }
        let read = await Docs.status { _ = try await Docs.get(gp, document.documentID) }
        let write = await Docs.status { try await Docs.deposit(gp, Docs.submission("b")) }
        #expect(find?.code == .permissionDenied && read?.code == .permissionDenied && write?.code == .permissionDenied)
        // The patient still reads their closed record, but changes nothing in it.
        #expect(try await Docs.find(patient) == [document.documentID])
        let patientWrite = await Docs.status {
            try await Docs.deposit(patient, Docs.submission("note", .patientProvided, title: "Allergies"))
        }
        #expect(patientWrite?.code == .failedPrecondition && patientWrite?.reason == "RECORD_CLOSED")

        _ = try await patient.records.reopenRecord(.with { $0.patientID = alice })
        #expect(try await Docs.find(gp) == [document.documentID])
        await server.stop()
    }
}
