import Foundation

/// One way a professional or organisation currently has access to a record.
public struct AccessPath: Sendable, Hashable {
    public let basis: AccessBasis
    public let scope: AccessScope
    public let mode: AccessMode
    public let expiresAt: Date?
    /// For grants, presence codes and emergency accesses.
    public let grantID: String?
    /// For emergency accesses: the reason the professional gave.
    public let emergencyReason: String

    public init(
        basis: AccessBasis, scope: AccessScope, mode: AccessMode, expiresAt: Date?, grantID: String?, emergencyReason: String = ""
    ) {
        self.basis = basis
        self.scope = scope
        self.mode = mode
        self.expiresAt = expiresAt
        self.grantID = grantID
        self.emergencyReason = emergencyReason
    }
}

/// The union of a caller's access paths: the broadest scope and mode, the latest expiry, and
/// the basis recorded in the log (referring physician before grant before presence code before
/// emergency; an operation that needed the emergency access is logged as such whatever else
/// applies: RecordOperationRunner).
public struct EffectiveAccess: Sendable, Hashable {
    public let paths: [AccessPath]

    /// Nil when `paths` is empty.
    public init?(paths: [AccessPath]) {
        guard !paths.isEmpty else { return nil }
        self.paths = paths
    }

    public var basis: AccessBasis {
        let order: [AccessBasis] = [.referringPhysician, .grant, .presenceCode, .emergency]
        return order.first { basis in paths.contains { $0.basis == basis } } ?? paths[0].basis
    }

    public var scope: AccessScope { paths.contains { $0.scope == .extended } ? .extended : .standard }
    public var mode: AccessMode { paths.contains { $0.mode == .readWrite } ? .readWrite : .read }
    /// Emergency access is the only way in: results exclude secret documents and are flagged.
    public var isEmergencyOnly: Bool { basis == .emergency }

    public var expiresAt: Date? {
        let ends = paths.map(\.expiresAt)
        return ends.contains(nil) ? nil : ends.compactMap { $0 }.max()
    }

    /// The caller's paths to a record: being its referring physician, and active grants.
    /// A blocked professional has none.
    public static func of(
        _ caller: Principal, record: Record?, settings: RecordAccessSettings, at now: Date
    ) -> EffectiveAccess? {
        guard caller.kind == .professional || caller.kind == .organisation, !settings.isBlocked(caller) else { return nil }
        var paths: [AccessPath] = []
        if caller.kind == .professional, let record, record.enrollment.referringPhysicianID == caller.id {
            paths.append(AccessPath(basis: .referringPhysician, scope: .extended, mode: .readWrite, expiresAt: nil, grantID: nil))
        }
        for grant in settings.activeGrants(for: caller, at: now) {
            paths.append(AccessPath(
                basis: grant.basis.accessBasis, scope: grant.scope, mode: grant.mode, expiresAt: grant.expiresAt,
                grantID: grant.id, emergencyReason: grant.emergencyReason))
        }
        return EffectiveAccess(paths: paths)
    }
}
