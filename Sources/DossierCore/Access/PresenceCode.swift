import Foundation

/// A short code the patient hands over in a consultation; the professional redeems it once
/// for a time-limited access. Only a digest of the code is kept.
public struct PresenceCode: Sendable, Hashable {
    public let digest: String
    public let issuedAt: Date
    public let issuedBy: Principal
    /// The code must be redeemed before this time.
    public let expiresAt: Date
    public let scope: AccessScope
    public let mode: AccessMode
    /// How long the access lasts once redeemed.
    public let accessDuration: TimeInterval
    public var redeemedAt: Date?

    public init(
        digest: String, issuedAt: Date, issuedBy: Principal, expiresAt: Date, scope: AccessScope, mode: AccessMode,
        accessDuration: TimeInterval, redeemedAt: Date? = nil
    ) {
        self.digest = digest
        self.issuedAt = issuedAt
        self.issuedBy = issuedBy
        self.expiresAt = expiresAt
        self.scope = scope
        self.mode = mode
        self.accessDuration = accessDuration
        self.redeemedAt = redeemedAt
    }

    public func isRedeemable(at now: Date) -> Bool { redeemedAt == nil && now < expiresAt }

    /// Characters without look-alikes (no 0/O, 1/I/L).
    public static let alphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    public static let length = 8

    /// A fresh random code, e.g. "7KQ4M2XD".
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The code as typed: case, spaces and '-' do not matter.
    public static func normalize(_ typed: String) -> String {
        typed.uppercased().filter { $0 != "-" && $0 != " " }
    }
}

/// Presence-code settings of a deployment.
public struct PresenceCodePolicy: Sendable, Hashable {
    /// How long a code may be redeemed after it is issued.
    public var codeValidity: TimeInterval = 3_600
    /// Default access once redeemed (Luxembourg: 24 hours).
    public var defaultAccessDuration: TimeInterval = 86_400
    public var maxAccessDuration: TimeInterval = 7 * 86_400
    /// Failed redemptions a professional may make per window before being refused.
    public var maxFailures = 5
    /// Failed redemptions on one record, by all professionals together, per window: a code of
    /// 10^n possibilities cannot be guessed by many professionals taking turns.
    public var maxFailuresPerRecord = 20
    public var failureWindow: TimeInterval = 900

    public init() {}
}
