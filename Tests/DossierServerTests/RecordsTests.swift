import DossierClient
import DossierCore
import DossierProto
import DossierStore
import DossierTestSupport
import Foundation
import Testing

/// The record lifecycle through the real server, as each role would call it.
@Suite struct RecordsTests {
    static let alice = "1985010112345"

    func open(_ client: DossierClient, _ patient: String, skip: Bool = true, physician: String? = nil) async throws -> Dossier_V1_Record {
        try await client.records.openRecord(.with {
            $0.patientID = patient
            $0.enrollment = physician == nil ? .volunteer : .referringPhysician
            $0.referringPhysicianID = physician ?? ""
            $0.skipObjectionPeriod = skip
        }).record
    }

    func status(_ body: () async throws -> Void) async -> RPCStatusError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? RPCStatusError
        }
    }

    @Test func lifecycleByRoleWithItsAccessLog() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let alice = try await server.connect(kind: "patient", id: Self.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-1", profession: "pharmacist")
        let hospital = try await server.connect(kind: "organisation", id: "chl", organisation: "chl")

        let opened = try await open(helpdesk, Self.alice, physician: "gp-1001")
        #expect(opened.state == .active && opened.referringPhysicianID == "gp-1001")
        #expect(try await alice.records.getRecord(.with { $0.patientID = Self.alice }).record.state == .active)
        #expect(try await gp.records.getRecord(.with { $0.patientID = Self.alice }).record.version == 1)
        for stranger in [pharmacist, hospital] {
            let denied = await status { _ = try await stranger.records.getRecord(.with { $0.patientID = Self.alice }) }
            #expect(denied?.code == .permissionDenied)
        }
        // Only the patient (or delegate) closes, or an operator on request; the GP cannot.
        #expect(await status { _ = try await gp.records.closeRecord(.with { $0.patientID = Self.alice }) }?.code == .permissionDenied)
        let closed = try await alice.records.closeRecord(.with { $0.patientID = Self.alice }).record
        #expect(closed.state == .closed && closed.closureReason == .patientRequest && closed.hasPurgeAfter)
        // Closing ends professional access at once.
        #expect(await status { _ = try await gp.records.getRecord(.with { $0.patientID = Self.alice }) }?.code == .permissionDenied)
        #expect(try await helpdesk.records.reopenRecord(.with { $0.patientID = Self.alice }).record.state == .active)
        #expect(try await gp.records.getRecord(.with { $0.patientID = Self.alice }).record.state == .active)
        let again = await status { _ = try await alice.records.reopenRecord(.with { $0.patientID = Self.alice }) }
        #expect(again?.code == .failedPrecondition && again?.reason == "RECORD_NOT_CLOSED")

        for client in [helpdesk, alice, gp, pharmacist, hospital] { await client.close() }
        await server.stop(removeData: false)

        // The access log, read from the data directory: every operation, denied ones included.
        let store = try DossierStore(configuration: TestServer.storeConfiguration(of: server.dataDirectory))
        let log = try await store.accessLog(of: try PatientID(validating: Self.alice), after: 0, limit: 100)
        store.close()
        try? FileManager.default.removeItem(atPath: server.dataDirectory)
        let summary = log.map { "\($0.entry.actor.id) \($0.entry.operation.rawValue) \($0.entry.outcome.rawValue)" }
        #expect(summary == [
            "op-1 openRecord success", "\(Self.alice) getRecord success", "gp-1001 getRecord success",
            "pharm-1 getRecord denied", "chl getRecord denied", "gp-1001 closeRecord denied",
            "\(Self.alice) closeRecord success", "gp-1001 getRecord denied", "op-1 reopenRecord success",
            "gp-1001 getRecord success", "\(Self.alice) reopenRecord failed",
        ])
        #expect(log.map(\.sequence) == Array(1...UInt64(log.count)))
        let gpEntry = try #require(log.first { $0.entry.actor.id == "gp-1001" })
        #expect(gpEntry.entry.actor.profession == "gp" && gpEntry.entry.basis == .referringPhysician)
        #expect(!gpEntry.entry.actor.certificateSerial.isEmpty)
    }

    @Test func strangersCannotTellWhetherARecordExists() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-1", profession: "pharmacist")
        _ = try await open(helpdesk, Self.alice)
        let existing = await status { _ = try await pharmacist.records.getRecord(.with { $0.patientID = Self.alice }) }
        let missing = await status { _ = try await pharmacist.records.getRecord(.with { $0.patientID = "1999999999999" }) }
        #expect(existing != nil && existing == missing)
        let operatorView = await status { _ = try await helpdesk.records.getRecord(.with { $0.patientID = "1999999999999" }) }
        #expect(operatorView?.code == .notFound)
        await helpdesk.close()
        await pharmacist.close()
        await server.stop()
    }

    @Test func pendingRecordSharesNothingUntilThePatientActivatesIt() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let alice = try await server.connect(kind: "patient", id: Self.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let pending = try await open(helpdesk, Self.alice, skip: false, physician: "gp-1001")
        #expect(pending.state == .pending && pending.hasObjectionPeriodEndsAt)
        #expect(await status { _ = try await gp.records.getRecord(.with { $0.patientID = Self.alice }) }?.code == .permissionDenied)
        let active = try await alice.records.activateRecord(.with {
            $0.patientID = Self.alice
            $0.enrollment = .referringPhysician
            $0.referringPhysicianID = "gp-1001"
        }).record
        #expect(active.state == .active)
        #expect(try await gp.records.getRecord(.with { $0.patientID = Self.alice }).record.state == .active)
        // Someone else cannot activate Alice's record.
        let bob = try await server.connect(kind: "patient", id: "1990020254321")
        #expect(await status { _ = try await bob.records.activateRecord(.with { $0.patientID = Self.alice }) }?.code == .permissionDenied)
        for client in [helpdesk, alice, gp, bob] { await client.close() }
        await server.stop()
    }

    @Test func objectionDuringThePendingPeriodAndEarlyDeletion() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let alice = try await server.connect(kind: "patient", id: Self.alice)
        _ = try await open(helpdesk, Self.alice, skip: false)
        let closed = try await alice.records.closeRecord(.with { $0.patientID = Self.alice }).record
        #expect(closed.closureReason == .objection)
        let unconfirmed = await status { _ = try await alice.records.requestDeletion(.with { $0.patientID = Self.alice }) }
        #expect(unconfirmed?.code == .invalidArgument && unconfirmed?.reason == "CONFIRMATION_REQUIRED")
        let deletion = try await alice.records.requestDeletion(.with {
            $0.patientID = Self.alice
            $0.confirmIrreversible = true
        })
        #expect(deletion.hasPurgeScheduledAt)
        let reopen = await status { _ = try await helpdesk.records.reopenRecord(.with { $0.patientID = Self.alice }) }
        #expect(reopen?.code == .failedPrecondition && reopen?.reason == "DELETION_REQUESTED")
        await helpdesk.close()
        await alice.close()
        await server.stop()
    }

    @Test func bulkOpeningReportsEveryEntry() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        _ = try await open(helpdesk, Self.alice)
        var entries = (0..<500).map { index in Dossier_V1_BulkEnrollment.with { $0.patientID = "b\(index)" } }
        entries.append(.with { $0.patientID = Self.alice })
        entries.append(.with { $0.patientID = "not valid!" })
        entries.append(.with {
            $0.patientID = "b-gp"
            $0.enrollment = .referringPhysician
        })
        let response = try await helpdesk.records.openRecords(.with { $0.enrollments = entries })
        #expect(response.opened == 500 && response.alreadyExisting == 1 && response.rejected == 2)
        #expect(response.results.count == entries.count)
        #expect(response.results[501].reason == "INVALID_PATIENT_ID")
        #expect(response.results[502].reason == "INVALID_PROFESSIONAL_ID")
        let record = try await helpdesk.records.getRecord(.with { $0.patientID = "b42" }).record
        #expect(record.state == .pending && record.openedBy == .bulk)

        let alice = try await server.connect(kind: "patient", id: Self.alice)
        #expect(await status { _ = try await alice.records.openRecords(.with { $0.enrollments = [entries[0]] }) }?.code == .permissionDenied)
        let tooMany = Array(repeating: entries[0], count: 1001)
        #expect(await status { _ = try await helpdesk.records.openRecords(.with { $0.enrollments = tooMany }) }?.code == .invalidArgument)
        await alice.close()
        await helpdesk.close()
        await server.stop()
    }

    @Test func invalidFieldsNameTheField() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let badID = await status { _ = try await helpdesk.records.getRecord(.with { $0.patientID = "../etc" }) }
        #expect(badID?.code == .invalidArgument && badID?.reason == "INVALID_PATIENT_ID")
        let noEnrollment = await status {
            _ = try await helpdesk.records.openRecord(.with { $0.patientID = Self.alice })
        }
        #expect(noEnrollment?.code == .invalidArgument && noEnrollment?.reason == "MISSING_FIELD")
        let unknown = await status { _ = try await helpdesk.connection.unary(
            RPCMethodName(service: "dossier.v1.Admin", method: "NoSuchMethod"), payload: Data(), options: .init()) }
        #expect(unknown?.code == .unimplemented)
        await helpdesk.close()
        await server.stop()
    }
}
