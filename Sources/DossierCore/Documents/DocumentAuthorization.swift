/// Operations on a record's documents, as far as the record-level decision goes.
public enum DocumentOperation: String, Sendable, Hashable, CaseIterable {
    /// Get, read content, find, overview.
    case read
    /// Deposit (in one call or through an upload).
    case deposit
    /// Replace or deprecate.
    case change
    /// Set the confidentiality level (the patient's decision).
    case setConfidentiality
    /// Hide from or release to the patient (the author's decision).
    case setPatientVisibility
}

/// The rules for documents, as pure functions (table-tested in DocumentAuthorizationTests).
///
/// Two steps: `decide` says whether the caller may act on the record's documents at all (and on
/// what basis, for the log); `canSee` and `mayChange` then decide per document. A document the
/// caller may not see is answered exactly like one that does not exist.
public enum DocumentAuthorization {
    /// The record-level decision. `authoredDocuments`: the caller deposited at least one
    /// document of this record (the author keeps seeing their own documents without any other
    /// access, while the record is active and they are not blocked).
    public static func decide(
        _ operation: DocumentOperation, relation: RecordRelation, state: RecordState?, authoredDocuments: Bool
    ) -> AccessDecision {
        switch relation {
        case .patient:
            return .allowed(.patient)
        case .delegate:
            return .allowed(.delegate)
        case .operator:
            return .denied(reason: "OPERATION_NOT_ALLOWED")
        case .professional(let access):
            guard state == .active else { return .denied(reason: "RECORD_NOT_ACTIVE") }
            switch operation {
            case .deposit, .change:
                return access.mode == .readWrite ? .allowed(access.basis) : .denied(reason: "READ_ONLY_ACCESS")
            case .read, .setConfidentiality, .setPatientVisibility:
                return .allowed(access.basis)
            }
        case .none:
            guard authoredDocuments, state == .active else { return .denied(reason: "NO_ACCESS") }
            switch operation {
            case .read, .setPatientVisibility, .setConfidentiality:
                return .allowed(.author)
            case .deposit, .change:
                return .denied(reason: "NO_ACCESS")
            }
        }
    }

    /// Whether the caller sees `document` (its metadata and content).
    ///
    /// - the patient and delegate: every document not hidden from the patient;
    /// - the author (professional or organisation): always;
    /// - other professionals and organisations with access: NORMAL documents, RESTRICTED ones
    ///   with extended scope (emergency access has extended scope), never SECRET ones; and only
    ///   classes and sensitive categories the profession matrix allows them.
    /// `document` as a caller sees it, given whether it may see the version that replaced it
    /// (`successorVisible`): a replacement the caller may not see — hidden from the patient until
    /// release, or more confidential than the caller's access — leaves no trace, so the replaced
    /// version shows as it was before (current, no successor) until the caller may see the new one.
    public static func presented(_ document: Document, successorVisible: (String) -> Bool) -> Document {
        guard document.status == .deprecated, let successor = document.replacedByID, !successorVisible(successor) else {
            return document
        }
        var view = document
        view.status = .current
        view.replacedByID = nil
        view.deprecationReason = ""
        view.deprecatedAt = nil
        return view
    }

    public static func canSee(
        _ document: Document, caller: Principal, relation: RecordRelation, matrix: AccessMatrix
    ) -> Bool {
        switch relation {
        case .patient, .delegate:
            return !document.hiddenFromPatient
        case .operator:
            return false
        case .professional(let access):
            if isProfessionalAuthor(document, caller) { return true }
            switch document.confidentiality {
            case .secret: return false
            case .restricted: guard access.scope == .extended else { return false }
            case .normal: break
            }
            return matrix.allows(caller, documentClass: document.documentClass, categories: document.submission.sensitiveCategories)
        case .none:
            return isProfessionalAuthor(document, caller)
        }
    }

    /// Whether the caller, who sees `document`, may replace or deprecate it: its author or the
    /// record's referring physician (READ_WRITE access is checked by `decide`); the patient and
    /// delegate for personal-space documents. Nobody else changes what a professional wrote.
    public static func mayChange(
        _ document: Document, caller: Principal, relation: RecordRelation, referringPhysicianID: String?
    ) -> Bool {
        switch relation {
        case .patient, .delegate:
            return document.patientSpace
        case .professional:
            guard !document.patientSpace else { return false }
            return isProfessionalAuthor(document, caller) || (caller.kind == .professional && caller.id == referringPhysicianID)
        case .operator, .none:
            return false
        }
    }

    /// Whether the caller may hide `document` from the patient or release it: its professional
    /// or organisation author only.
    public static func maySetPatientVisibility(_ document: Document, caller: Principal) -> Bool {
        !document.patientSpace && isProfessionalAuthor(document, caller)
    }

    /// Whether the caller may change `document`'s confidentiality: the patient and delegate.
    public static func maySetConfidentiality(relation: RecordRelation) -> Bool {
        switch relation {
        case .patient, .delegate: return true
        default: return false
        }
    }

    static func isProfessionalAuthor(_ document: Document, _ caller: Principal) -> Bool {
        (caller.kind == .professional || caller.kind == .organisation) && document.isAuthored(by: caller)
    }
}
