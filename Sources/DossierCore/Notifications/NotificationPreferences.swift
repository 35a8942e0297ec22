import Foundation

/// Which notification kinds the patient wants (EHDS Art. 9): every kind is on until the patient
/// or delegate turns it off; emergency access is always notified.
public struct NotificationPreferences: Sendable, Hashable {
    /// Kinds the patient turned off (never `.emergencyAccess`).
    public private(set) var disabled: Set<NotificationKind>
    /// When the choices were last changed (nil: never).
    public var updatedAt: Date?

    /// Kinds that cannot be turned off.
    public static let alwaysOn: Set<NotificationKind> = [.emergencyAccess]

    public init(disabled: Set<NotificationKind> = [], updatedAt: Date? = nil) {
        self.disabled = disabled.subtracting(Self.alwaysOn)
        self.updatedAt = updatedAt
    }

    public func delivers(_ kind: NotificationKind) -> Bool {
        Self.alwaysOn.contains(kind) || !disabled.contains(kind)
    }

    /// Applies changes in order (the last one of a kind counts). Turning an always-on kind off
    /// is refused, and nothing changes.
    public mutating func apply(_ changes: [(kind: NotificationKind, enabled: Bool)], at now: Date) throws {
        if let refused = changes.first(where: { Self.alwaysOn.contains($0.kind) && !$0.enabled }) {
            throw DossierError(
                .invalidArgument, "\(refused.kind.rawValue) notifications cannot be turned off", reason: "NOTIFICATION_ALWAYS_ON",
                field: "preferences")
        }
        for change in changes where !Self.alwaysOn.contains(change.kind) {
            if change.enabled { disabled.remove(change.kind) } else { disabled.insert(change.kind) }
        }
        updatedAt = now
    }
}

