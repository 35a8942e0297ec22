import Foundation

/// The patient's decisions about access: grants, blocks, delegates, the referring physician and
/// the emergency preference. Every call is authorized, logged and committed atomically.
public struct AccessService: Sendable {
    public let repository: any RecordRepository
    public let clock: @Sendable () -> Date
    public let makeID: @Sendable () -> String

    public init(
        repository: any RecordRepository, clock: @escaping @Sendable () -> Date = { Date() },
        makeID: @escaping @Sendable () -> String = { AccessService.randomID() }
    ) {
        self.repository = repository
        self.clock = clock
        self.makeID = makeID
    }

    /// A random opaque id ("g-" and 20 hex digits).
    /// 128 random bits: an id says nothing of other grants (their number, their order).
    public static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }.hex
        return "g-" + value
    }

    // MARK: Grants

    /// Grants a professional or organisation access; a grantee's previous grant is revoked.
    public func grant(
        _ patient: PatientID, to grantee: Grantee, scope: AccessScope, mode: AccessMode, expiresAt: Date?,
        label: String, by caller: Principal
    ) async throws -> (grant: AccessGrant, replaced: String?) {
        let now = clock()
        if let expiresAt, expiresAt <= now {
            throw DossierError(.invalidArgument, "expires_at must be in the future", reason: "INVALID_EXPIRY", field: "expires_at")
        }
        try Self.checkLabel(label)
        let id = makeID()
        return try await perform(.grant, on: patient, by: caller, at: now) { tx, _ in
            tx.logDetails = LogDetails(subject: LoggedPrincipal(kind: grantee.kind, id: grantee.id), grantID: id)
            try Self.requireOpen(tx, at: now)
            var settings = tx.effectiveSettings
            if grantee.kind == .professional, settings.blocks.contains(where: { $0.professionalID == grantee.id }) {
                throw DossierError(.failedPrecondition, "the professional is blocked; unblock first", reason: "PRINCIPAL_BLOCKED")
            }
            var replaced: String?
            for index in settings.grants.indices
            where settings.grants[index].basis == .grant && settings.grants[index].grantee == grantee
                && settings.grants[index].state(at: now) == .active
            {
                settings.grants[index].revokedAt = now
                settings.grants[index].revokedBy = caller
                replaced = settings.grants[index].id
            }
            let grant = AccessGrant(
                id: id, grantee: grantee, basis: .grant, scope: scope, mode: mode, createdAt: now, createdBy: caller,
                expiresAt: expiresAt, label: label)
            settings.grants.append(grant)
            tx.updatedSettings = settings
            return (grant, replaced)
        }
    }

    /// Revokes one access (grant, presence-code or emergency access).
    public func revoke(_ patient: PatientID, grantID: String, by caller: Principal) async throws -> AccessGrant {
        let now = clock()
        return try await perform(.revoke, on: patient, by: caller, at: now) { tx, _ in
            _ = try RecordOperationRunner.existing(tx)
            var settings = tx.effectiveSettings
            guard let index = settings.grants.firstIndex(where: { $0.id == grantID }) else {
                throw DossierError(.notFound, "no such grant on this record", reason: "GRANT_NOT_FOUND", field: "grant_id")
            }
            let grantee = settings.grants[index].grantee
            tx.logDetails = LogDetails(subject: LoggedPrincipal(kind: grantee.kind, id: grantee.id), grantID: grantID)
            guard settings.grants[index].state(at: now) == .active else {
                throw DossierError(.failedPrecondition, "the grant is no longer active", reason: "GRANT_NOT_ACTIVE")
            }
            settings.grants[index].revokedAt = now
            settings.grants[index].revokedBy = caller
            tx.updatedSettings = settings
            return settings.grants[index]
        }
    }

    /// The record's accesses, newest first; only active ones unless `includeInactive`.
    public func listGrants(
        _ patient: PatientID, bases: Set<GrantBasis>, includeInactive: Bool, by caller: Principal
    ) async throws -> [AccessGrant] {
        let now = clock()
        return try await perform(.listGrants, on: patient, by: caller, at: now) { tx, _ in
            _ = try RecordOperationRunner.existing(tx)
            return tx.settings.grants
                .filter { (bases.isEmpty || bases.contains($0.basis)) && (includeInactive || $0.state(at: now) == .active) }
                .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        }
    }

    // MARK: Blocks

    /// Blocks a professional entirely: their accesses end, emergency access included.
    public func block(
        _ patient: PatientID, professionalID: String, label: String, by caller: Principal
    ) async throws -> (block: ProfessionalBlock, revoked: [String]) {
        let now = clock()
        try Self.checkProfessionalID(professionalID)
        try Self.checkLabel(label)
        return try await perform(.block, on: patient, by: caller, at: now) { tx, _ in
            tx.logDetails = LogDetails(subject: LoggedPrincipal(kind: .professional, id: professionalID))
            let record = try RecordOperationRunner.existing(tx)
            guard record.enrollment.referringPhysicianID != professionalID else {
                throw DossierError(
                    .failedPrecondition, "the referring physician cannot be blocked; change the referring physician first",
                    reason: "REFERRING_PHYSICIAN")
            }
            var settings = tx.effectiveSettings
            if let existing = settings.blocks.first(where: { $0.professionalID == professionalID }) {
                return (existing, [])
            }
            var revoked: [String] = []
            for index in settings.grants.indices
            where settings.grants[index].grantee.kind == .professional && settings.grants[index].grantee.id == professionalID
                && settings.grants[index].state(at: now) == .active
            {
                settings.grants[index].revokedAt = now
                settings.grants[index].revokedBy = caller
                revoked.append(settings.grants[index].id)
            }
            let block = ProfessionalBlock(professionalID: professionalID, blockedAt: now, blockedBy: caller, label: label)
            settings.blocks.append(block)
            tx.updatedSettings = settings
            return (block, revoked)
        }
    }

    public func unblock(_ patient: PatientID, professionalID: String, by caller: Principal) async throws {
        let now = clock()
        try Self.checkProfessionalID(professionalID)
        try await perform(.unblock, on: patient, by: caller, at: now) { tx, _ in
            tx.logDetails = LogDetails(subject: LoggedPrincipal(kind: .professional, id: professionalID))
            _ = try RecordOperationRunner.existing(tx)
            var settings = tx.effectiveSettings
            guard settings.blocks.contains(where: { $0.professionalID == professionalID }) else {
                throw DossierError(.notFound, "this professional is not blocked", reason: "BLOCK_NOT_FOUND")
            }
            settings.blocks.removeAll { $0.professionalID == professionalID }
            tx.updatedSettings = settings
        }
    }

    public func listBlocks(_ patient: PatientID, by caller: Principal) async throws -> [ProfessionalBlock] {
        try await perform(.listBlocks, on: patient, by: caller, at: clock()) { tx, _ in
            _ = try RecordOperationRunner.existing(tx)
            return tx.settings.blocks.sorted { $0.blockedAt > $1.blockedAt }
        }
    }

    // MARK: Referring physician

    /// Sets (or with nil removes) the referring physician, who has extended read-write access.
    public func setReferringPhysician(_ patient: PatientID, professionalID: String?, by caller: Principal) async throws -> Record {
        let now = clock()
        if let professionalID { try Self.checkProfessionalID(professionalID) }
        return try await perform(.setReferringPhysician, on: patient, by: caller, at: now) { tx, basis in
            tx.logDetails = LogDetails(subject: professionalID.map { LoggedPrincipal(kind: .professional, id: $0) })
            var record = try RecordOperationRunner.existing(tx)
            try Self.requireOpen(tx, at: now)
            if let professionalID, tx.settings.blocks.contains(where: { $0.professionalID == professionalID }) {
                throw DossierError(.failedPrecondition, "the professional is blocked; unblock first", reason: "PRINCIPAL_BLOCKED")
            }
            record.enrollment = professionalID.map { .referringPhysician(id: $0) } ?? .volunteer
            record.version += 1
            tx.updated = record
            // Someone other than the patient gave a professional extended read-write access (or
            // took it away): the patient is told.
            if basis != .patient && basis != .delegate {
                tx.notifications.append(NotificationDraft(kind: .referringPhysicianChanged, actor: caller))
            }
            return record
        }
    }

    // MARK: Delegates

    public func nameDelegate(
        _ patient: PatientID, delegateID: String, expiresAt: Date?, label: String, by caller: Principal
    ) async throws -> Delegation {
        let now = clock()
        guard Identifier.isValid(delegateID), delegateID != patient.rawValue else {
            throw DossierError(
                .invalidArgument, "delegate_id must be another person's patient id", reason: "INVALID_DELEGATE",
                field: "delegate_id")
        }
        if let expiresAt, expiresAt <= now {
            throw DossierError(.invalidArgument, "expires_at must be in the future", reason: "INVALID_EXPIRY", field: "expires_at")
        }
        try Self.checkLabel(label)
        return try await perform(.nameDelegate, on: patient, by: caller, at: now) { tx, _ in
            tx.logDetails = LogDetails(subject: LoggedPrincipal(kind: .patient, id: delegateID))
            try Self.requireOpen(tx, at: now)
            var settings = tx.effectiveSettings
            settings.delegations.removeAll { $0.delegateID == delegateID }
            let delegation = Delegation(delegateID: delegateID, namedAt: now, expiresAt: expiresAt, label: label)
            settings.delegations.append(delegation)
            tx.updatedSettings = settings
            return delegation
        }
    }

    /// The patient removes a delegate; a delegate may remove themselves.
    public func removeDelegate(_ patient: PatientID, delegateID: String, by caller: Principal) async throws {
        try await perform(.removeDelegate, on: patient, by: caller, at: clock()) { tx, basis in
            tx.logDetails = LogDetails(subject: LoggedPrincipal(kind: .patient, id: delegateID))
            _ = try RecordOperationRunner.existing(tx)
            guard basis == .patient || caller.id == delegateID else {
                throw DossierError(.permissionDenied, "a delegate may only remove themselves", reason: "PERMISSION_DENIED")
            }
            var settings = tx.effectiveSettings
            guard settings.delegations.contains(where: { $0.delegateID == delegateID }) else {
                throw DossierError(.notFound, "no such delegate", reason: "DELEGATE_NOT_FOUND", field: "delegate_id")
            }
            settings.delegations.removeAll { $0.delegateID == delegateID }
            tx.updatedSettings = settings
        }
    }

    public func listDelegates(_ patient: PatientID, by caller: Principal) async throws -> [Delegation] {
        let now = clock()
        return try await perform(.listDelegates, on: patient, by: caller, at: now) { tx, _ in
            _ = try RecordOperationRunner.existing(tx)
            return tx.settings.delegations.filter { $0.isActive(at: now) }.sorted { $0.namedAt < $1.namedAt }
        }
    }

    /// The records the caller may act on as a delegate (any patient-kind principal; not logged,
    /// it concerns no single record).
    public func myDelegations(by caller: Principal) async throws -> [(patient: PatientID, delegation: Delegation)] {
        guard caller.kind == .patient else { throw DossierError.permissionDenied() }
        let now = clock()
        return try await repository.delegations(of: caller.id)
            .filter { $0.delegation.isActive(at: now) }
            .sorted { $0.patient < $1.patient }
    }

    // MARK: Emergency preference

    public func setEmergencyPreference(_ patient: PatientID, refuse: Bool, by caller: Principal) async throws -> Date {
        let now = clock()
        return try await perform(.setEmergencyPreference, on: patient, by: caller, at: now) { tx, _ in
            _ = try RecordOperationRunner.existing(tx)
            var settings = tx.effectiveSettings
            settings.emergencyRefused = refuse
            settings.emergencyPreferenceUpdatedAt = now
            tx.updatedSettings = settings
            return now
        }
    }

    public func emergencyPreference(_ patient: PatientID, by caller: Principal) async throws -> (refused: Bool, updatedAt: Date?) {
        try await perform(.getEmergencyPreference, on: patient, by: caller, at: clock()) { tx, _ in
            _ = try RecordOperationRunner.existing(tx)
            return (tx.settings.emergencyRefused, tx.settings.emergencyPreferenceUpdatedAt)
        }
    }

    // MARK: What the caller may do

    /// The caller's access to a record; never an error (NONE when there is none or no record).
    public func myAccess(_ patient: PatientID, by caller: Principal) async throws -> (basis: AccessBasis, access: EffectiveAccess?) {
        let now = clock()
        return try await repository.transact(patient) { tx in
            let relation = RecordRelation.of(caller, to: patient, record: tx.current, settings: tx.settings, at: now)
            let answer: (AccessBasis, EffectiveAccess?)
            switch relation {
            case .patient: answer = (tx.current == nil ? .none : .patient, nil)
            case .delegate: answer = (tx.current == nil ? .none : .delegate, nil)
            case .operator: answer = (tx.current == nil ? .none : .operator, nil)
            case .professional(let access):
                answer = tx.current?.state(at: now) == .active ? (access.basis, access) : (.none, nil)
            case .none: answer = (.none, nil)
            }
            tx.log(AccessLogEntry(
                time: now, actor: caller, basis: answer.0, operation: .getMyAccess, outcome: .success,
                emergency: answer.0 == .emergency))
            return answer
        }
    }

    // MARK: -

    private func perform<T: Sendable>(
        _ operation: AccessOperation, on patient: PatientID, by caller: Principal, at now: Date,
        body: @escaping @Sendable (inout RecordTransaction, AccessBasis) throws -> T
    ) async throws -> T {
        try await RecordOperationRunner(repository: repository).perform(
            operation.logged, on: patient, by: caller, at: now,
            authorize: { relation, _ in AccessAuthorization.decide(operation, relation: relation) }, body: body)
    }

    private static func requireOpen(_ tx: RecordTransaction, at now: Date) throws {
        let record = try RecordOperationRunner.existing(tx)
        guard record.state(at: now) != .closed else {
            throw DossierError(.failedPrecondition, "the record is closed", reason: "RECORD_CLOSED")
        }
    }

    private static func checkLabel(_ label: String) throws {
        guard label.count <= 100 else {
            throw DossierError(.invalidArgument, "label must be at most 100 characters", reason: "LABEL_TOO_LONG", field: "label")
        }
    }

    private static func checkProfessionalID(_ id: String) throws {
        guard Identifier.isValid(id) else {
            throw DossierError(
                .invalidArgument, "professional_id is not a valid id", reason: "INVALID_PROFESSIONAL_ID", field: "professional_id")
        }
    }
}
