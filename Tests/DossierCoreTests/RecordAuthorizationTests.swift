import DossierCore
import Testing

/// Every lifecycle operation × caller relation × record state, against the rules of the
/// product brief written out independently of the implementation.
@Suite struct RecordAuthorizationTests {
    static let states: [RecordState?] = [nil, .pending, .active, .closed]
    static let relations: [RecordRelation] = [.patient, .delegate, .referringPhysician, .operator, .none]

    /// The expected basis when allowed, nil when denied.
    static func expected(_ operation: RecordOperation, _ relation: RecordRelation, _ state: RecordState?) -> AccessBasis? {
        switch relation {
        case .operator:
            return [.open, .openBulk, .read, .close, .reopen].contains(operation) ? .operator : nil
        case .patient:
            return [.activate, .read, .close, .reopen, .requestDeletion].contains(operation) ? .patient : nil
        case .delegate:
            return [.activate, .read, .close, .reopen, .requestDeletion].contains(operation) ? .delegate : nil
        case .referringPhysician:
            return operation == .read && state == .active ? .referringPhysician : nil
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
        let record = RecordLifecycle.open(
            patient, enrollment: .referringPhysician(id: "gp-1"), by: .operator, withObjectionPeriod: false,
            at: .init(timeIntervalSince1970: 1_000), policy: .init())
        let cases: [(Principal, RecordRelation)] = [
            (Principal(kind: .patient, id: "1985010112345"), .patient),
            (Principal(kind: .patient, id: "1990020254321"), .delegate),
            (Principal(kind: .patient, id: "1111"), .none),
            (Principal(kind: .professional, id: "gp-1", profession: "gp"), .referringPhysician),
            (Principal(kind: .professional, id: "gp-2", profession: "gp"), .none),
            (Principal(kind: .organisation, id: "gp-1"), .none),
            (Principal(kind: .operator, id: "op-1"), .operator),
            // A professional whose id equals the patient's is still not the patient.
            (Principal(kind: .professional, id: "1985010112345", profession: "gp"), .none),
        ]
        for (caller, relation) in cases {
            #expect(RecordRelation.of(caller, to: patient, record: record, delegates: ["1990020254321"]) == relation)
        }
        #expect(RecordRelation.of(Principal(kind: .professional, id: "gp-1", profession: "gp"), to: patient, record: nil, delegates: []) == .none)
    }
}
