/// Operations on a record's access settings.
public enum AccessOperation: String, Sendable, Hashable, CaseIterable {
    case grant, revoke, listGrants, block, unblock, listBlocks, setReferringPhysician
    case nameDelegate, removeDelegate, listDelegates, setEmergencyPreference, getEmergencyPreference
    case issuePresenceCode

    var logged: LoggedOperation {
        switch self {
        case .grant: .grantAccess
        case .revoke: .revokeAccess
        case .listGrants: .listGrants
        case .block: .blockProfessional
        case .unblock: .unblockProfessional
        case .listBlocks: .listBlocks
        case .setReferringPhysician: .setReferringPhysician
        case .nameDelegate: .nameDelegate
        case .removeDelegate: .removeDelegate
        case .listDelegates: .listDelegates
        case .setEmergencyPreference: .setEmergencyPreference
        case .getEmergencyPreference: .getEmergencyPreference
        case .issuePresenceCode: .issuePresenceCode
        }
    }
}

/// Who decides about access: the patient, and their delegate with the patient's rights —
/// except naming and removing delegates, which only the patient does (a delegate may remove
/// themselves, checked by the use case). Operators only change the referring physician, on the
/// patient's request. Professionals and organisations decide nothing.
public enum AccessAuthorization {
    public static func decide(_ operation: AccessOperation, relation: RecordRelation) -> AccessDecision {
        switch (operation, relation) {
        case (.nameDelegate, .patient), (.removeDelegate, .patient):
            return .allowed(.patient)
        case (.removeDelegate, .delegate):
            return .allowed(.delegate)
        case (.nameDelegate, _):
            return .denied(reason: "PATIENT_ONLY")
        case (_, .patient) where operation != .removeDelegate:
            return .allowed(.patient)
        case (_, .delegate) where operation != .removeDelegate:
            return .allowed(.delegate)
        case (.setReferringPhysician, .operator):
            return .allowed(.operator)
        case (_, .none):
            return .denied(reason: "NO_ACCESS")
        default:
            return .denied(reason: "PATIENT_OR_DELEGATE_ONLY")
        }
    }
}
