import Foundation

/// Emergency (break-glass) settings of a deployment.
public struct EmergencyPolicy: Sendable, Hashable {
    /// Professions that may open emergency access (the profession matrix will own this list).
    public var allowedProfessions: Set<String> = ["emergency_physician", "gp", "specialist", "nurse"]
    /// How long an emergency access lasts.
    public var duration: TimeInterval = 12 * 3_600
    public var reasonLength: ClosedRange<Int> = 10...500

    public init() {}
}

/// Break-glass access: a professional of an allowed profession opens a time-limited access with
/// a mandatory reason. Refused when the patient refused emergency access or blocked the
/// professional — with one answer for every refusal that depends on the record. Always flagged
/// in the log; never shows secret documents (extended scope at most).
public struct EmergencyAccessService: Sendable {
    public let repository: any RecordRepository
    public let policy: EmergencyPolicy
    public let clock: @Sendable () -> Date
    let makeID: @Sendable () -> String
    /// The professions allowed to open emergency access now (the matrix in force may change).
    let allowedProfessions: @Sendable () -> Set<String>

    public init(
        repository: any RecordRepository, policy: EmergencyPolicy, clock: @escaping @Sendable () -> Date = { Date() },
        makeID: @escaping @Sendable () -> String = { AccessService.randomID() },
        allowedProfessions: (@Sendable () -> Set<String>)? = nil
    ) {
        self.repository = repository
        self.policy = policy
        self.allowedProfessions = allowedProfessions ?? { policy.allowedProfessions }
        self.clock = clock
        self.makeID = makeID
    }

    public func open(_ patient: PatientID, reason: String, by caller: Principal) async throws -> AccessGrant {
        let now = clock()
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard policy.reasonLength.contains(trimmed.count) else {
            throw DossierError(
                .invalidArgument, "reason must be \(policy.reasonLength.lowerBound) to \(policy.reasonLength.upperBound) characters",
                reason: "INVALID_REASON", field: "reason")
        }
        let allowed = caller.kind == .professional && allowedProfessions().contains(caller.profession ?? "")
        let id = makeID()
        let duration = policy.duration
        return try await RecordOperationRunner(repository: repository).perform(
            .openEmergencyAccess, on: patient, by: caller, at: now,
            authorize: { _, _ in allowed ? .allowed(.emergency) : .denied(reason: "PROFESSION_NOT_ALLOWED") },
            body: { tx, _ in
                tx.logDetails = LogDetails(grantID: id, emergencyReason: trimmed)
                var settings = tx.effectiveSettings
                // One answer for every reason; the patient's log has the precise one.
                let unavailable = DossierError(
                    .permissionDenied, "emergency access is not available for this record", reason: "EMERGENCY_ACCESS_UNAVAILABLE")
                func refuse(_ reason: String) -> DeniedAttempt {
                    DeniedAttempt(answer: unavailable, logReason: reason, documentIDs: [])
                }
                guard let record = tx.current else { throw unavailable }
                guard record.state(at: now) == .active else { throw refuse("RECORD_NOT_ACTIVE") }
                guard !settings.isBlocked(caller) else { throw refuse("PROFESSIONAL_BLOCKED") }
                guard !settings.emergencyRefused else { throw refuse("EMERGENCY_REFUSED_BY_PATIENT") }
                let grant = AccessGrant(
                    id: id, grantee: try Grantee(kind: .professional, id: caller.id), basis: .emergency, scope: .extended,
                    mode: .readWrite, createdAt: now, createdBy: caller, expiresAt: now + duration, emergencyReason: trimmed)
                settings.grants.append(grant)
                tx.updatedSettings = settings
                tx.notifications.append(NotificationDraft(kind: .emergencyAccess, actor: caller, grantID: grant.id))
                return grant
            })
    }
}
