import DossierCore
import Foundation
import Testing

/// Every lifecycle operation × caller relation × record state, against the rules of the
/// product brief written out independently of the implementation.
@Suite struct RecordAuthorizationTests {
    static let states: [RecordState?] = [nil, .pending, .active, .closed]
    static let referring = EffectiveAccess(paths: [
        AccessPath(basis: .referringPhysician, scope: .extended, mode: .readWrite, expiresAt: nil, grantID: nil)
    ])!
    static let granted = EffectiveAccess(paths: [
        AccessPath(basis: .grant, scope: .standard, mode: .read, expiresAt: nil, grantID: "g-1")
    ])!
    static let relations: [RecordRelation] = [
        .patient, .delegate, .professional(referring), .professional(granted), .operator, .none,
    ]

    /// The expected basis when allowed, nil when denied.
    static func expected(_ operation: RecordOperation, _ relation: RecordRelation, _ state: RecordState?) -> AccessBasis? {
        switch relation {
        case .operator:
            return [.open, .openBulk, .read, .close, .reopen].contains(operation) ? .operator : nil
        case .patient:
            return [.activate, .read, .close, .reopen, .requestDeletion].contains(operation) ? .patient : nil
        case .delegate:
            return [.activate, .read, .close, .reopen, .requestDeletion].contains(operation) ? .delegate : nil
        case .professional(let access):
            return operation == .read && state == .active ? access.basis : nil
        case .none:
            return nil
        }
    }

    @Test(arguments: RecordOperation.allCases)
    func everyCombination(operation: RecordOperation) {
        for relation in Self.relations {
            for state in Self.states {
                let decision = RecordAuthorization.decide(operation, relation: relation, state: state)
                if let basis = Self.expected(operation, relation, state) {
                    #expect(decision == .allowed(basis), "\(operation) \(relation) \(String(describing: state))")
                } else {
                    #expect(!decision.isAllowed, "\(operation) \(relation) \(String(describing: state))")
                }
            }
        }
    }

    @Test func relationFollowsTheCertificateAndTheRecord() throws {
        let patient = try PatientID(validating: "1985010112345")
        let now = Date(timeIntervalSince1970: 1_000)
        let record = RecordLifecycle.open(
            patient, enrollment: .referringPhysician(id: "gp-1"), by: .operator, withObjectionPeriod: false,
            at: now, policy: .init())
        let settings = RecordAccessSettings(delegations: [
            Delegation(delegateID: "1990020254321", namedAt: now, expiresAt: nil, label: ""),
            Delegation(delegateID: "2000", namedAt: now - 10, expiresAt: now - 1, label: ""),
        ])
        let cases: [(Principal, RecordRelation)] = [
            (Principal(kind: .patient, id: "1985010112345"), .patient),
            (Principal(kind: .patient, id: "1990020254321"), .delegate),
            (Principal(kind: .patient, id: "1111"), .none),
            (Principal(kind: .professional, id: "gp-1", profession: "gp"), .professional(Self.referring)),
            (Principal(kind: .professional, id: "gp-2", profession: "gp"), .none),
            (Principal(kind: .organisation, id: "gp-1"), .none),
            (Principal(kind: .operator, id: "op-1"), .operator),
            // A professional whose id equals the patient's is still not the patient.
            (Principal(kind: .professional, id: "1985010112345", profession: "gp"), .none),
        ]
        for (caller, relation) in cases {
            #expect(RecordRelation.of(caller, to: patient, record: record, settings: settings, at: now) == relation)
        }
        let gp = Principal(kind: .professional, id: "gp-1", profession: "gp")
        #expect(RecordRelation.of(gp, to: patient, record: nil, settings: settings, at: now) == .none)
        // An expired delegation gives nothing.
        #expect(RecordRelation.of(Principal(kind: .patient, id: "2000"), to: patient, record: record, settings: settings, at: now) == .none)
    }
}
