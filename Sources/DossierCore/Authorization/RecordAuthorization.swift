import Foundation

/// Lifecycle operations on a record.
public enum RecordOperation: String, Sendable, Hashable, CaseIterable {
    case open, openBulk, activate, read, close, reopen, requestDeletion
}

/// The outcome of an authorization decision.
public enum AccessDecision: Sendable, Hashable {
    case allowed(AccessBasis)
    /// `reason` is a stable upper-snake code for the access log (e.g. "NO_ACCESS"); never health data.
    case denied(reason: String)

    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }
}

/// Who the caller is to one record, before any operation is considered.
public enum RecordRelation: Sendable, Hashable {
    case patient
    case delegate
    /// A professional or organisation with at least one access path (referring physician,
    /// grant, presence code, emergency).
    case professional(EffectiveAccess)
    case `operator`
    case none

    /// Derives the relation from the caller, the record (nil when it does not exist) and the
    /// patient's access settings at `now`.
    public static func of(
        _ caller: Principal, to patient: PatientID, record: Record?, settings: RecordAccessSettings, at now: Date
    ) -> RecordRelation {
        switch caller.kind {
        case .patient:
            if caller.isPatient(patient) { return .patient }
            return settings.activeDelegates(at: now).contains(caller.id) ? .delegate : .none
        case .operator:
            return .operator
        case .professional, .organisation:
            return EffectiveAccess.of(caller, record: record, settings: settings, at: now).map { .professional($0) } ?? .none
        }
    }
}

/// The rules for lifecycle operations, as a pure function (table-tested).
///
/// - Operators open records (one or in bulk), read their lifecycle state, and close or reopen
///   them on the patient's request.
/// - The patient and their delegate activate, read, close, reopen and ask for deletion.
/// - Professionals and organisations with an access path read the lifecycle state while the
///   record is active.
public enum RecordAuthorization {
    public static func decide(
        _ operation: RecordOperation, relation: RecordRelation, state: RecordState?
    ) -> AccessDecision {
        switch (operation, relation) {
        case (.open, .operator), (.openBulk, .operator):
            return .allowed(.operator)
        case (.read, .operator), (.close, .operator), (.reopen, .operator):
            return .allowed(.operator)
        case (.activate, .patient), (.read, .patient), (.close, .patient), (.reopen, .patient),
            (.requestDeletion, .patient):
            return .allowed(.patient)
        case (.activate, .delegate), (.read, .delegate), (.close, .delegate), (.reopen, .delegate),
            (.requestDeletion, .delegate):
            return .allowed(.delegate)
        case (.read, .professional(let access)):
            return state == .active ? .allowed(access.basis) : .denied(reason: "RECORD_NOT_ACTIVE")
        case (_, .none):
            return .denied(reason: "NO_ACCESS")
        default:
            return .denied(reason: "OPERATION_NOT_ALLOWED")
        }
    }
}
