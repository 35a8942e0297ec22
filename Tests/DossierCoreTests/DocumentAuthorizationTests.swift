import DossierCore
import Foundation
import Testing

/// Every combination of caller situation × operation × confidentiality × hidden-from-patient ×
/// document class × record state, through the same steps the service takes: the relation is
/// derived from real access settings (RecordRelation.of), then the record-level decision, then
/// the per-document rules. The expected outcome is written out separately from PRODUCT.md.
@Suite struct DocumentAuthorizationTests {
    enum Outcome: Hashable {
        case allowed
        /// PERMISSION_DENIED for the record (the caller learns nothing about documents).
        case recordDenied
        /// NOT_FOUND: the document is invisible to the caller.
        case notFound
        /// PERMISSION_DENIED about a document the caller sees (NOT_AUTHOR, PATIENT_ONLY).
        case documentDenied
    }

    /// Who the caller is, and what the patient's settings say about them.
    enum Situation: String, CaseIterable {
        case patient, delegate, operatorHelpdesk
        case authorWithGrant, authorWithoutAccess, blockedAuthor
        case referringPhysician
        case standardRead, standardReadWrite, extendedRead, extendedReadWrite, expiredGrant
        case presenceCode, expiredPresenceCode, emergency
        case blockedProfessional, unrelatedProfessional, organisationGranted, pharmacistExtended

        var caller: Principal {
            switch self {
            case .patient: Principal(kind: .patient, id: patientID.rawValue)
            case .delegate: Principal(kind: .patient, id: "1960050512345")
            case .operatorHelpdesk: Principal(kind: .operator, id: "op-1")
            case .authorWithGrant, .authorWithoutAccess, .blockedAuthor: DocumentAuthorizationTests.author
            case .emergency: Principal(kind: .professional, id: "er-1", profession: "emergency_physician")
            case .organisationGranted: Principal(kind: .organisation, id: "hospital-1")
            case .pharmacistExtended: Principal(kind: .professional, id: "pharm-1", profession: "pharmacist")
            default: Principal(kind: .professional, id: "gp-2", profession: "gp")
            }
        }

        var isAuthor: Bool { [.authorWithGrant, .authorWithoutAccess, .blockedAuthor].contains(self) }
    }

    static let patientID = try! PatientID(validating: "1985010112345")
    static let author = Principal(kind: .professional, id: "gp-1", profession: "gp")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func grant(_ grantee: Principal, _ basis: GrantBasis, _ scope: AccessScope, _ mode: AccessMode, expired: Bool = false) -> AccessGrant {
        AccessGrant(
            id: "g-\(grantee.id)-\(basis)", grantee: try! Grantee(kind: grantee.kind, id: grantee.id), basis: basis, scope: scope,
            mode: mode, createdAt: now - 7_200, createdBy: Principal(kind: .patient, id: patientID.rawValue),
            expiresAt: expired ? now - 60 : now + 3_600)
    }

    static func setting(_ situation: Situation) -> (settings: RecordAccessSettings, referring: String?) {
        let caller = situation.caller
        var settings = RecordAccessSettings()
        var referring: String?
        switch situation {
        case .patient, .operatorHelpdesk, .authorWithoutAccess, .unrelatedProfessional: break
        case .delegate:
            settings.delegations = [Delegation(delegateID: caller.id, namedAt: now - 60, expiresAt: nil, label: "")]
        case .authorWithGrant, .extendedReadWrite: settings.grants = [grant(caller, .grant, .extended, .readWrite)]
        case .blockedAuthor, .blockedProfessional:
            settings.grants = [grant(caller, .grant, .extended, .readWrite)]
            settings.blocks = [ProfessionalBlock(professionalID: caller.id, blockedAt: now - 60, blockedBy: caller, label: "")]
        case .referringPhysician: referring = caller.id
        case .standardRead: settings.grants = [grant(caller, .grant, .standard, .read)]
        case .standardReadWrite: settings.grants = [grant(caller, .grant, .standard, .readWrite)]
        case .extendedRead: settings.grants = [grant(caller, .grant, .extended, .read)]
        case .expiredGrant: settings.grants = [grant(caller, .grant, .extended, .readWrite, expired: true)]
        case .presenceCode: settings.grants = [grant(caller, .presenceCode, .standard, .read)]
        case .expiredPresenceCode: settings.grants = [grant(caller, .presenceCode, .standard, .read, expired: true)]
        case .emergency: settings.grants = [grant(caller, .emergency, .extended, .read)]
        case .organisationGranted: settings.grants = [grant(caller, .grant, .standard, .read)]
        case .pharmacistExtended: settings.grants = [grant(caller, .grant, .extended, .read)]
        }
        return (settings, referring)
    }

    static func document(_ level: ConfidentialityLevel, hidden: Bool, _ documentClass: DocumentClass) -> Document {
        let submission = DocumentSubmission(
            clientUniqueID: "c-1", title: "t", documentClass: documentClass, typeCode: Coding(system: "s", code: "c"),
            mimeType: "application/pdf", createdAt: now - 86_400, confidentiality: level, hiddenFromPatient: hidden)
        return Document(
            id: "d1", patientID: patientID, submission: submission, author: author, sizeBytes: 1, sha256: [], depositedAt: now - 3_600,
            patientSpace: false, content: ContentID("d1"))
    }

    /// What the service does, step by step, with the domain's functions.
    static func actual(
        _ situation: Situation, _ operation: DocumentOperation, _ document: Document, _ state: RecordState
    ) -> Outcome {
        let caller = situation.caller
        let (settings, referring) = setting(situation)
        let record = Record(
            patientID: patientID, storedState: state,
            enrollment: referring.map { .referringPhysician(id: $0) } ?? .volunteer, openedBy: .operator, openedAt: now - 86_400)
        let relation = RecordRelation.of(caller, to: patientID, record: record, settings: settings, at: now)
        let authored: Bool
        if case .none = relation { authored = !settings.isBlocked(caller) && document.isAuthored(by: caller) } else { authored = false }
        guard DocumentAuthorization.decide(operation, relation: relation, state: state, authoredDocuments: authored).isAllowed else {
            return .recordDenied
        }
        if operation == .deposit { return .allowed }
        guard DocumentAuthorization.canSee(document, caller: caller, relation: relation, matrix: .default) else { return .notFound }
        let permitted = switch operation {
        case .read, .deposit: true
        case .change: DocumentAuthorization.mayChange(document, caller: caller, relation: relation, referringPhysicianID: referring)
        case .setConfidentiality: DocumentAuthorization.maySetConfidentiality(relation: relation)
        case .setPatientVisibility: DocumentAuthorization.maySetPatientVisibility(document, caller: caller)
        }
        return permitted ? .allowed : .documentDenied
    }

    /// The rules of PRODUCT.md, written independently.
    static func expected(
        _ situation: Situation, _ operation: DocumentOperation, _ level: ConfidentialityLevel, hidden: Bool,
        _ documentClass: DocumentClass, _ state: RecordState
    ) -> Outcome {
        switch situation {
        case .patient, .delegate:
            // The patient's rights, in any state (a closed record's changes fail later, as
            // RECORD_CLOSED); hidden documents do not exist for them; what a professional
            // wrote is the professional's to replace or hide.
            if operation == .deposit { return .allowed }
            if hidden { return .notFound }
            return [.read, .setConfidentiality].contains(operation) ? .allowed : .documentDenied
        case .operatorHelpdesk, .unrelatedProfessional, .expiredGrant, .expiredPresenceCode, .blockedProfessional, .blockedAuthor:
            return .recordDenied
        case .authorWithoutAccess:
            // Only their own documents, only while the record is active, and no writing.
            guard state == .active, [.read, .setConfidentiality, .setPatientVisibility].contains(operation) else { return .recordDenied }
            return operation == .setConfidentiality ? .documentDenied : .allowed
        default:
            guard state == .active else { return .recordDenied }
            let writes = [DocumentOperation.deposit, .change].contains(operation)
            let readWrite = [.authorWithGrant, .referringPhysician, .standardReadWrite, .extendedReadWrite].contains(situation)
            if writes && !readWrite { return .recordDenied }
            if operation == .deposit { return .allowed }
            let extended = [.authorWithGrant, .referringPhysician, .extendedRead, .extendedReadWrite, .emergency, .pharmacistExtended]
                .contains(situation)
            let matrixAllows = situation == .pharmacistExtended ? documentClass == .labResult : true
            let sees = situation.isAuthor || (level == .normal || (level == .restricted && extended)) && matrixAllows
            guard sees else { return .notFound }
            switch operation {
            case .read: return .allowed
            case .change: return situation.isAuthor || situation == .referringPhysician ? .allowed : .documentDenied
            case .setPatientVisibility: return situation.isAuthor ? .allowed : .documentDenied
            case .setConfidentiality, .deposit: return .documentDenied
            }
        }
    }

    @Test(arguments: Situation.allCases)
    func everyCombination(situation: Situation) {
        var combinations = 0
        for operation in DocumentOperation.allCases {
            for level in ConfidentialityLevel.allCases {
                for hidden in [false, true] {
                    for documentClass in [DocumentClass.labResult, .report] {
                        for state in [RecordState.pending, .active, .closed] {
                            let document = Self.document(level, hidden: hidden, documentClass)
                            let actual = Self.actual(situation, operation, document, state)
                            let expected = Self.expected(situation, operation, level, hidden: hidden, documentClass, state)
                            #expect(actual == expected, "\(situation) \(operation) \(level) hidden=\(hidden) \(documentClass) \(state)")
                            combinations += 1
                        }
                    }
                }
            }
        }
        #expect(combinations == 180)  // × 19 situations = 3,420 combinations
    }

    @Test func theDefaultMatrixKeepsPsychiatryFromPharmacists() {
        let pharmacist = Principal(kind: .professional, id: "pharm-1", profession: "pharmacist")
        let matrix = AccessMatrix.default
        #expect(matrix.allows(pharmacist, documentClass: .prescription, categories: []))
        #expect(matrix.allows(pharmacist, documentClass: .labResult, categories: []))
        #expect(!matrix.allows(pharmacist, documentClass: .report, categories: []))
        #expect(!matrix.allows(pharmacist, documentClass: .prescription, categories: [.psychiatry]))
        let unknown = Principal(kind: .professional, id: "x-1", profession: "astrologer")
        #expect(!matrix.allows(unknown, documentClass: .summary, categories: []))  // deny by default
        #expect(matrix.mayUseEmergencyAccess(Principal(kind: .professional, id: "er", profession: "emergency_physician")))
        #expect(!matrix.mayUseEmergencyAccess(pharmacist))
    }

    @Test func theMatrixRefusesAmbiguousRows() {
        let row = AccessMatrix.Row(kind: .professional, profession: "gp", documentClasses: [.report])
        #expect(throws: AccessMatrix.MatrixError.self) { try AccessMatrix(rows: [row, row]) }
        #expect(throws: AccessMatrix.MatrixError.self) {
            try AccessMatrix(rows: [AccessMatrix.Row(kind: .operator, profession: "", documentClasses: [])])
        }
    }
}
