import DossierCore
import Foundation
import Testing

@Suite struct AccessAuthorizationTests {
    static let granted = EffectiveAccess(paths: [
        AccessPath(basis: .grant, scope: .extended, mode: .readWrite, expiresAt: nil, grantID: "g-1")
    ])!

    /// The rule written out independently: the patient decides everything; the delegate too,
    /// except naming delegates (removing: the use case checks it is themselves); operators only
    /// the referring physician; professionals and organisations nothing.
    static func expected(_ operation: AccessOperation, _ relation: RecordRelation) -> AccessBasis? {
        switch relation {
        case .patient: return .patient
        case .delegate: return operation == .nameDelegate ? nil : .delegate
        case .operator: return operation == .setReferringPhysician ? .operator : nil
        case .professional, .none: return nil
        }
    }

    @Test(arguments: AccessOperation.allCases)
    func everyCombination(operation: AccessOperation) {
        for relation: RecordRelation in [.patient, .delegate, .operator, .professional(Self.granted), .none] {
            let decision = AccessAuthorization.decide(operation, relation: relation)
            if let basis = Self.expected(operation, relation) {
                #expect(decision == .allowed(basis), "\(operation) \(relation)")
            } else {
                #expect(!decision.isAllowed, "\(operation) \(relation)")
            }
        }
    }

    @Test func effectiveAccessIsTheUnionOfPaths() {
        let now = Date(timeIntervalSince1970: 10_000)
        let caller = Principal(kind: .professional, id: "pharm-1", profession: "pharmacist", organisation: "pharmacie-centrale")
        let grantee = try! Grantee(kind: .professional, id: "pharm-1")
        let viaOrganisation = try! Grantee(kind: .organisation, id: "pharmacie-centrale")
        let patient = Principal(kind: .patient, id: "p1")
        let settings = RecordAccessSettings(grants: [
            AccessGrant(id: "a", grantee: grantee, basis: .grant, scope: .standard, mode: .read, createdAt: now, createdBy: patient, expiresAt: now + 100),
            AccessGrant(id: "b", grantee: viaOrganisation, basis: .grant, scope: .extended, mode: .read, createdAt: now, createdBy: patient, expiresAt: nil),
            AccessGrant(id: "c", grantee: grantee, basis: .grant, scope: .extended, mode: .readWrite, createdAt: now, createdBy: patient, expiresAt: now - 1),
            AccessGrant(id: "d", grantee: grantee, basis: .grant, scope: .extended, mode: .readWrite, createdAt: now, createdBy: patient, expiresAt: nil, revokedAt: now),
        ])
        let access = EffectiveAccess.of(caller, record: nil, settings: settings, at: now)
        #expect(access?.paths.compactMap(\.grantID) == ["a", "b"])
        #expect(access?.scope == .extended && access?.mode == .read && access?.expiresAt == nil && access?.basis == .grant)

        var blocked = settings
        blocked.blocks = [ProfessionalBlock(professionalID: "pharm-1", blockedAt: now, blockedBy: patient, label: "")]
        #expect(EffectiveAccess.of(caller, record: nil, settings: blocked, at: now) == nil)
        // Another pharmacist of the same organisation is covered by the organisation's grant only.
        let colleague = Principal(kind: .professional, id: "pharm-2", profession: "pharmacist", organisation: "pharmacie-centrale")
        #expect(EffectiveAccess.of(colleague, record: nil, settings: settings, at: now)?.paths.compactMap(\.grantID) == ["b"])
    }
}
