import Foundation
import Synchronization

/// Presence codes: the patient issues a short code in the consultation; the professional
/// redeems it once for a short access. Guessing is rate-limited per professional and every
/// attempt on an existing record is logged.
public struct PresenceCodeService: Sendable {
    public let repository: any RecordRepository
    public let policy: PresenceCodePolicy
    public let clock: @Sendable () -> Date
    /// A one-way digest of a normalized code (SHA-256 in the server); codes are never stored.
    public let digest: @Sendable (String) -> String
    let makeID: @Sendable () -> String
    private let failures = FailureCounter()

    public init(
        repository: any RecordRepository, policy: PresenceCodePolicy, clock: @escaping @Sendable () -> Date = { Date() },
        digest: @escaping @Sendable (String) -> String, makeID: @escaping @Sendable () -> String = { AccessService.randomID() }
    ) {
        self.repository = repository
        self.policy = policy
        self.clock = clock
        self.digest = digest
        self.makeID = makeID
    }

    /// Issues a code (patient or delegate); a previous outstanding code stops working.
    public func issue(
        _ patient: PatientID, scope: AccessScope, mode: AccessMode, accessDuration: TimeInterval?, by caller: Principal
    ) async throws -> (code: String, issued: PresenceCode) {
        let now = clock()
        let duration = accessDuration ?? policy.defaultAccessDuration
        guard duration > 0, duration <= policy.maxAccessDuration else {
            throw DossierError(
                .invalidArgument, "access_duration must be positive and at most \(Int(policy.maxAccessDuration)) seconds",
                reason: "INVALID_DURATION", field: "access_duration")
        }
        let code = PresenceCode.generate()
        let issued = PresenceCode(
            digest: digest(code), issuedAt: now, issuedBy: caller, expiresAt: now + policy.codeValidity, scope: scope,
            mode: mode, accessDuration: duration)
        try await RecordOperationRunner(repository: repository).perform(
            .issuePresenceCode, on: patient, by: caller, at: now,
            authorize: { relation, _ in AccessAuthorization.decide(.issuePresenceCode, relation: relation) },
            body: { tx, _ in
                let record = try RecordOperationRunner.existing(tx)
                guard record.state(at: now) == .active else {
                    throw DossierError(.failedPrecondition, "the record is not active", reason: "RECORD_NOT_ACTIVE")
                }
                var settings = tx.effectiveSettings
                settings.presenceCode = issued
                tx.updatedSettings = settings
            })
        return (code, issued)
    }

    /// Redeems a code (professional). Every failure looks the same: wrong, expired or used code,
    /// no such record, record not active, or the professional blocked.
    public func redeem(_ patient: PatientID, code typed: String, by caller: Principal) async throws -> AccessGrant {
        let now = clock()
        let offered = digest(PresenceCode.normalize(typed))
        let id = makeID()
        // Guessing is limited per professional and per record (access.proto).
        let limited = failures.isLimited("professional:" + caller.id, at: now, limit: policy.maxFailures, policy: policy)
            || failures.isLimited("record:" + patient.rawValue, at: now, limit: policy.maxFailuresPerRecord, policy: policy)
        do {
            return try await RecordOperationRunner(repository: repository).perform(
                .redeemPresenceCode, on: patient, by: caller, at: now,
                authorize: { _, _ in caller.kind == .professional ? .allowed(.presenceCode) : .denied(reason: "PROFESSIONALS_ONLY") },
                body: { tx, _ in
                    tx.logDetails = LogDetails(grantID: id)
                    guard !limited else {
                        throw DeniedAttempt(
                            answer: DossierError(
                                .resourceExhausted, "too many failed redemptions; try again later", reason: "PRESENCE_CODE_RATE_LIMITED"),
                            logReason: "PRESENCE_CODE_RATE_LIMITED", documentIDs: [])
                    }
                    var settings = tx.effectiveSettings
                    // One answer for every reason; the patient's log has the precise one.
                    func refuse(_ reason: String) -> DeniedAttempt {
                        DeniedAttempt(
                            answer: DossierError(.permissionDenied, "invalid presence code", reason: "PRESENCE_CODE_INVALID"),
                            logReason: reason, documentIDs: [])
                    }
                    guard let record = tx.current else { throw refuse("RECORD_NOT_FOUND") }
                    guard record.state(at: now) == .active else { throw refuse("RECORD_NOT_ACTIVE") }
                    guard !settings.isBlocked(caller) else { throw refuse("PROFESSIONAL_BLOCKED") }
                    guard var outstanding = settings.presenceCode, outstanding.digest == offered else {
                        throw refuse("PRESENCE_CODE_WRONG")
                    }
                    guard outstanding.redeemedAt == nil else { throw refuse("PRESENCE_CODE_USED") }
                    guard outstanding.isRedeemable(at: now) else { throw refuse("PRESENCE_CODE_EXPIRED") }
                    outstanding.redeemedAt = now
                    settings.presenceCode = outstanding
                    let grant = AccessGrant(
                        id: id, grantee: try Grantee(kind: .professional, id: caller.id), basis: .presenceCode,
                        scope: outstanding.scope, mode: outstanding.mode, createdAt: now, createdBy: caller,
                        expiresAt: now + outstanding.accessDuration)
                    settings.grants.append(grant)
                    tx.updatedSettings = settings
                    return grant
                })
        } catch let error as DossierError where error.reason == "PRESENCE_CODE_INVALID" {
            failures.record("professional:" + caller.id, at: now)
            failures.record("record:" + patient.rawValue, at: now)
            throw error
        }
    }
}

/// Failed redemptions per professional and per record in a sliding window (per server process).
final class FailureCounter: Sendable {
    private let times = Mutex<[String: [Date]]>([:])

    func isLimited(_ id: String, at now: Date, limit: Int, policy: PresenceCodePolicy) -> Bool {
        times.withLock { table in
            let recent = (table[id] ?? []).filter { now.timeIntervalSince($0) < policy.failureWindow }
            table[id] = recent.isEmpty ? nil : recent
            return recent.count >= limit
        }
    }

    func record(_ id: String, at now: Date) {
        times.withLock { table in
            table[id, default: []].append(now)
        }
    }
}
