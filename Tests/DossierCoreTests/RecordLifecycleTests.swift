import DossierCore
import Foundation
import Testing

@Suite struct RecordLifecycleTests {
    let patient = try! PatientID(validating: "1985010112345")
    let policy = RecordPolicy(objectionPeriod: 30 * 86_400, retentionPeriod: 3650 * 86_400)
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func bulkOpeningIsPendingUntilTheObjectionPeriodEnds() {
        let record = RecordLifecycle.open(patient, enrollment: .volunteer, by: .bulk, withObjectionPeriod: true, at: t0, policy: policy)
        #expect(record.state(at: t0) == .pending)
        #expect(record.state(at: t0 + 30 * 86_400 - 1) == .pending)
        #expect(record.state(at: t0 + 30 * 86_400) == .active)
    }

    @Test func openingWithoutObjectionPeriodIsActiveAtOnce() {
        let record = RecordLifecycle.open(patient, enrollment: .volunteer, by: .operator, withObjectionPeriod: false, at: t0, policy: policy)
        #expect(record.state(at: t0) == .active)
        #expect(record.objectionPeriodEndsAt == nil)
    }

    @Test func closingAPendingRecordIsAnObjection() throws {
        let record = RecordLifecycle.open(patient, enrollment: .volunteer, by: .bulk, withObjectionPeriod: true, at: t0, policy: policy)
        let closed = try RecordLifecycle.close(record, byOperator: false, at: t0 + 10, policy: policy)
        #expect(closed.state(at: t0 + 100 * 86_400) == .closed)
        #expect(closed.closureReason == .objection)
        #expect(closed.purgeAfter == t0 + 10 + 3650 * 86_400)
        #expect(closed.version == record.version + 1)
    }

    @Test func closeReasonsAndDoubleClose() throws {
        let record = RecordLifecycle.open(patient, enrollment: .volunteer, by: .operator, withObjectionPeriod: false, at: t0, policy: policy)
        #expect(try RecordLifecycle.close(record, byOperator: false, at: t0, policy: policy).closureReason == .patientRequest)
        let closed = try RecordLifecycle.close(record, byOperator: true, at: t0, policy: policy)
        #expect(closed.closureReason == .operatorOnRequest)
        #expect(throws: DossierError.self) { try RecordLifecycle.close(closed, byOperator: false, at: t0, policy: policy) }
    }

    @Test func reopenRestoresActiveAndClearsClosure() throws {
        let record = RecordLifecycle.open(patient, enrollment: .volunteer, by: .operator, withObjectionPeriod: false, at: t0, policy: policy)
        #expect(throws: DossierError.self) { try RecordLifecycle.reopen(record, at: t0) }
        let closed = try RecordLifecycle.close(record, byOperator: false, at: t0 + 1, policy: policy)
        let reopened = try RecordLifecycle.reopen(closed, at: t0 + 2)
        #expect(reopened.state(at: t0 + 2) == .active)
        #expect(reopened.closedAt == nil && reopened.purgeAfter == nil && reopened.closureReason == nil)
    }

    @Test func deletionRequiresAClosedRecordAndForbidsReopening() throws {
        let record = RecordLifecycle.open(patient, enrollment: .volunteer, by: .operator, withObjectionPeriod: false, at: t0, policy: policy)
        #expect(throws: DossierError.self) { try RecordLifecycle.requestDeletion(record, at: t0) }
        let closed = try RecordLifecycle.close(record, byOperator: false, at: t0, policy: policy)
        let marked = try RecordLifecycle.requestDeletion(closed, at: t0 + 5)
        #expect(marked.purgeAfter == t0 + 5)
        let error = #expect(throws: DossierError.self) { try RecordLifecycle.reopen(marked, at: t0 + 6) }
        #expect(error?.reason == "DELETION_REQUESTED")
    }

    @Test func activation() throws {
        let created = try RecordLifecycle.activate(nil, patient: patient, enrollment: .volunteer, at: t0)
        #expect(created.state(at: t0) == .active && created.openedBy == .patient)
        #expect(throws: DossierError.self) { try RecordLifecycle.activate(created, patient: patient, enrollment: .volunteer, at: t0) }
        let pending = RecordLifecycle.open(patient, enrollment: .volunteer, by: .bulk, withObjectionPeriod: true, at: t0, policy: policy)
        let confirmed = try RecordLifecycle.activate(pending, patient: patient, enrollment: .volunteer, at: t0 + 60)
        #expect(confirmed.state(at: t0 + 60) == .active)
        #expect(confirmed.activeSince == t0 + 60)
        let closed = try RecordLifecycle.close(confirmed, byOperator: false, at: t0 + 61, policy: policy)
        #expect(throws: DossierError.self) { try RecordLifecycle.activate(closed, patient: patient, enrollment: .volunteer, at: t0 + 62) }
    }

    @Test(arguments: [
        ("1985010112345", true), ("a", true), ("A.b_c-9", true), (String(repeating: "x", count: 64), true),
        ("", false), (String(repeating: "x", count: 65), false), ("-leading", false), ("_x", false),
        ("with space", false), ("é", false), ("a/b", false), ("a\u{0}b", false), ("a:b", false),
    ])
    func patientIDSyntax(text: String, valid: Bool) {
        #expect((PatientID(rawValue: text) != nil) == valid)
    }

    @Test func patientIDsAreNeverPrinted() throws {
        let id = try PatientID(validating: "1985010112345")
        #expect(!"\(id)".contains("1985010112345"))
    }

    @Test func enrollmentValidation() throws {
        #expect(try Enrollment(kind: nil, referringPhysicianID: "", defaultKind: .volunteer) == .volunteer)
        #expect(throws: DossierError.self) { try Enrollment(kind: nil, referringPhysicianID: "", defaultKind: nil) }
        #expect(throws: DossierError.self) { try Enrollment(kind: .volunteer, referringPhysicianID: "gp-1", defaultKind: nil) }
        #expect(throws: DossierError.self) { try Enrollment(kind: .referringPhysician, referringPhysicianID: "", defaultKind: nil) }
        #expect(try Enrollment(kind: .referringPhysician, referringPhysicianID: "gp-1", defaultKind: nil) == .referringPhysician(id: "gp-1"))
    }
}
