import Foundation

/// What a professional's access lets them see (further limited by the profession matrix).
public enum AccessScope: String, Sendable, Hashable, CaseIterable {
    /// Normal documents.
    case standard
    /// Normal and restricted documents; never secret ones.
    case extended
}

public enum AccessMode: String, Sendable, Hashable, CaseIterable {
    case read
    /// Read, and deposit documents.
    case readWrite
}

/// What created an access.
public enum GrantBasis: String, Sendable, Hashable {
    case grant, presenceCode, emergency

    public var accessBasis: AccessBasis {
        switch self {
        case .grant: .grant
        case .presenceCode: .presenceCode
        case .emergency: .emergency
        }
    }
}

public enum GrantState: String, Sendable, Hashable {
    case active, expired, revoked
}

/// Who holds an access: a professional, or an organisation (and the professionals whose
/// certificate names it).
public struct Grantee: Sendable, Hashable {
    public let kind: PrincipalKind
    public let id: String

    /// Validates a grantee as sent by a client.
    public init(kind: PrincipalKind, id: String) throws {
        guard kind == .professional || kind == .organisation else {
            throw DossierError(
                .invalidArgument, "grantee must be a professional or an organisation", reason: "INVALID_GRANTEE",
                field: "grantee")
        }
        guard Identifier.isValid(id) else {
            throw DossierError(.invalidArgument, "grantee id is not a valid id", reason: "INVALID_GRANTEE", field: "grantee")
        }
        self.kind = kind
        self.id = id
    }

    /// Whether calls made with `caller`'s certificate use this access.
    public func covers(_ caller: Principal) -> Bool {
        switch kind {
        case .professional:
            return caller.kind == .professional && caller.id == id
        case .organisation:
            return (caller.kind == .organisation && caller.id == id)
                || (caller.kind == .professional && caller.organisation == id)
        default:
            return false
        }
    }
}

/// One access of a professional or organisation to a record.
public struct AccessGrant: Sendable, Hashable {
    public let id: String
    public let grantee: Grantee
    public let basis: GrantBasis
    public let scope: AccessScope
    public let mode: AccessMode
    public let createdAt: Date
    public let createdBy: Principal
    public let expiresAt: Date?
    public var revokedAt: Date?
    public var revokedBy: Principal?
    public let emergencyReason: String
    public let label: String

    public init(
        id: String, grantee: Grantee, basis: GrantBasis, scope: AccessScope, mode: AccessMode, createdAt: Date,
        createdBy: Principal, expiresAt: Date?, revokedAt: Date? = nil, revokedBy: Principal? = nil,
        emergencyReason: String = "", label: String = ""
    ) {
        self.id = id
        self.grantee = grantee
        self.basis = basis
        self.scope = scope
        self.mode = mode
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.revokedBy = revokedBy
        self.emergencyReason = emergencyReason
        self.label = label
    }

    public func state(at now: Date) -> GrantState {
        if revokedAt != nil { return .revoked }
        if let expiresAt, now >= expiresAt { return .expired }
        return .active
    }
}

/// A delegate named by the patient, who acts with the patient's rights.
public struct Delegation: Sendable, Hashable {
    public let delegateID: String
    public let namedAt: Date
    public let expiresAt: Date?
    public let label: String

    public init(delegateID: String, namedAt: Date, expiresAt: Date?, label: String) {
        self.delegateID = delegateID
        self.namedAt = namedAt
        self.expiresAt = expiresAt
        self.label = label
    }

    public func isActive(at now: Date) -> Bool {
        expiresAt.map { now < $0 } ?? true
    }
}

/// A professional the patient blocked entirely (emergency access included).
public struct ProfessionalBlock: Sendable, Hashable {
    public let professionalID: String
    public let blockedAt: Date
    public let blockedBy: Principal
    public let label: String

    public init(professionalID: String, blockedAt: Date, blockedBy: Principal, label: String) {
        self.professionalID = professionalID
        self.blockedAt = blockedAt
        self.blockedBy = blockedBy
        self.label = label
    }
}

/// Everything the patient decided about who may access the record.
public struct RecordAccessSettings: Sendable, Hashable {
    public var grants: [AccessGrant]
    public var delegations: [Delegation]
    public var blocks: [ProfessionalBlock]
    public var emergencyRefused: Bool
    /// When the emergency preference was last changed.
    public var emergencyPreferenceUpdatedAt: Date?
    /// The outstanding presence code, if any (one per record).
    public var presenceCode: PresenceCode?
    /// Professionals and organisations that have accessed the record (for first-access
    /// notifications).
    public var knownAccessors: Set<String> = []
    /// Grants the patient was already told expire soon.
    public var expiryNotified: Set<String> = []
    /// Which notifications the patient wants (kept with the access settings: every
    /// transaction reads them, to know what to notify).
    public var notificationPreferences = NotificationPreferences()
    /// The patient's rectification requests, open and answered (few per record; kept with the
    /// settings so that a replacement closes them in its own transaction).
    public var rectifications: [RectificationRequest] = []

    public init(
        grants: [AccessGrant] = [], delegations: [Delegation] = [], blocks: [ProfessionalBlock] = [],
        emergencyRefused: Bool = false, emergencyPreferenceUpdatedAt: Date? = nil, presenceCode: PresenceCode? = nil
    ) {
        self.grants = grants
        self.delegations = delegations
        self.blocks = blocks
        self.emergencyRefused = emergencyRefused
        self.emergencyPreferenceUpdatedAt = emergencyPreferenceUpdatedAt
        self.presenceCode = presenceCode
    }

    public func activeDelegates(at now: Date) -> Set<String> {
        Set(delegations.filter { $0.isActive(at: now) }.map(\.delegateID))
    }

    public func isBlocked(_ caller: Principal) -> Bool {
        caller.kind == .professional && blocks.contains { $0.professionalID == caller.id }
    }

    /// The caller's active accesses (none when blocked).
    public func activeGrants(for caller: Principal, at now: Date) -> [AccessGrant] {
        guard !isBlocked(caller) else { return [] }
        return grants.filter { $0.state(at: now) == .active && $0.grantee.covers(caller) }
    }
}
