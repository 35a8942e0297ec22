import Foundation

/// The shape of every operation on a record: derive the caller's relation, decide, run the
/// change, stage one access-log entry (success, denied or failed) — all in one atomic commit,
/// so that the log entry is durable before the caller gets any answer.
struct RecordOperationRunner: Sendable {
    let repository: any RecordRepository

    /// A refusal is answered no sooner than this after the call began, whatever it took to
    /// decide: a refusal on an existing record (read, decide, log) and on a missing one (nothing
    /// to read or log) are then indistinguishable in time (docs/THREAT-MODEL.md). Only refused
    /// calls wait.
    static let refusalFloor: Duration = .milliseconds(5)

    func perform<T: Sendable>(
        _ operation: LoggedOperation, on patient: PatientID, by caller: Principal, at now: Date,
        authorize: @escaping @Sendable (RecordRelation, RecordState?) -> AccessDecision,
        body: @escaping @Sendable (inout RecordTransaction, AccessBasis) throws -> T
    ) async throws -> T {
        try await perform(
            operation, on: patient, by: caller, at: now, authorizeIn: { relation, tx in authorize(relation, tx.current?.state(at: now)) },
            body: body)
    }

    /// `perform` for decisions that read more of the transaction than the record's state
    /// (e.g. whether the caller authored documents of the record).
    func perform<T: Sendable>(
        _ operation: LoggedOperation, on patient: PatientID, by caller: Principal, at now: Date,
        authorizeIn authorize: @escaping @Sendable (RecordRelation, RecordTransaction) throws -> AccessDecision,
        body: @escaping @Sendable (inout RecordTransaction, AccessBasis) throws -> T
    ) async throws -> T {
        let requestID = CallInfo.requestID
        let started = ContinuousClock.now
        let (result, refused): (Result<T, DossierError>, Bool) = try await repository.transact(patient) { tx in
            let relation = RecordRelation.of(caller, to: patient, record: tx.current, settings: tx.settings, at: now)
            let patientSide = relation == .patient || relation == .delegate
            func entry(_ basis: AccessBasis, _ documents: [String], _ outcome: AccessOutcome, _ reason: String, _ details: LogDetails)
                -> AccessLogEntry
            {
                AccessLogEntry(
                    time: now, actor: caller, basis: basis, operation: operation, documentIDs: documents, outcome: outcome,
                    reason: reason, emergency: basis == .emergency, details: details, requestID: requestID)
            }
            let decision = try authorize(relation, tx)
            var basis: AccessBasis
            switch decision {
            case .allowed(let allowed):
                basis = allowed
            case .denied(let reason):
                tx.log(entry(.none, [], .denied, reason, .init()), byPatientSide: patientSide)
                // The log keeps the precise reason; the caller gets PERMISSION_DENIED and nothing
                // more (PROTOCOL.md 10.2), the same whether or not the record exists.
                return (.failure(.permissionDenied()), true)
            }
            // An emergency access is flagged whenever the operation needed it: when the caller's
            // other paths alone would not allow it (or, for documents, not show what it returned).
            var withoutEmergency: RecordRelation?
            if case .professional(let access) = relation, access.paths.contains(where: { $0.basis == .emergency }) {
                let others = EffectiveAccess(paths: access.paths.filter { $0.basis != .emergency }).map { RecordRelation.professional($0) }
                    ?? RecordRelation.none
                withoutEmergency = others
                if case .denied = try authorize(others, tx) { tx.neededEmergency = true }
            }
            let before = tx
            func usedPath(_ tx: inout RecordTransaction) {
                guard case .professional(let access) = relation else { return }
                if tx.neededEmergency, let emergency = access.paths.first(where: { $0.basis == .emergency }) {
                    basis = .emergency
                    if tx.logDetails.grantID.isEmpty { tx.logDetails.grantID = emergency.grantID ?? "" }
                    if tx.logDetails.emergencyReason.isEmpty { tx.logDetails.emergencyReason = emergency.emergencyReason }
                } else if tx.logDetails.grantID.isEmpty, let path = access.paths.first(where: { $0.basis == basis }) {
                    tx.logDetails.grantID = path.grantID ?? ""
                    if basis == .emergency, tx.logDetails.emergencyReason.isEmpty { tx.logDetails.emergencyReason = path.emergencyReason }
                }
            }
            do {
                tx.relationWithoutEmergency = withoutEmergency
                let value = try body(&tx, basis)
                usedPath(&tx)
                Self.noticeFirstAccess(by: caller, basis: basis, in: &tx)
                if !tx.skipsSuccessLog {
                    tx.log(entry(basis, tx.loggedDocumentIDs, .success, "", tx.logDetails), byPatientSide: patientSide)
                }
                return (.success(value), false)
            } catch let denied as DeniedAttempt {
                let details = tx.logDetails
                let needed = tx.neededEmergency
                tx = before  // refused on a document: logged as denied, answered as `denied.answer`
                tx.neededEmergency = needed
                tx.logDetails = details
                usedPath(&tx)
                tx.log(entry(basis, denied.documentIDs, .denied, denied.logReason, tx.logDetails), byPatientSide: patientSide)
                return (.failure(denied.answer), true)
            } catch let error as DossierError {
                let documentIDs = tx.loggedDocumentIDs
                let details = tx.logDetails
                tx = before  // nothing of a failed operation is committed but its log entry
                tx.logDetails = details
                usedPath(&tx)
                // A refusal by a rule inside the operation (emergency access refused by the
                // patient, a block, a wrong presence code) is a denial, not a failure.
                let outcome: AccessOutcome = error.code == .permissionDenied ? .denied : .failed
                tx.log(entry(basis, documentIDs, outcome, error.reason ?? "failed", tx.logDetails), byPatientSide: patientSide)
                return (.failure(error), outcome == .denied)
            }
        }
        if refused {
            try? await Task.sleep(until: started + Self.refusalFloor, clock: .continuous)
        }
        return try result.get()
    }

    /// The first successful access of a professional or organisation to the record notifies the
    /// patient, whatever the path (referring physician, grant, presence code, emergency).
    static func noticeFirstAccess(by caller: Principal, basis: AccessBasis, in tx: inout RecordTransaction) {
        guard caller.kind == .professional || caller.kind == .organisation,
            [.referringPhysician, .grant, .presenceCode, .emergency].contains(basis), tx.record != nil
        else { return }
        var settings = tx.effectiveSettings
        let key = "\(caller.kind.rawValue):\(caller.id)"
        guard !settings.knownAccessors.contains(key) else { return }
        settings.knownAccessors.insert(key)
        tx.updatedSettings = settings
        tx.notifications.append(NotificationDraft(kind: .firstAccess, actor: caller))
    }

    /// The record, or NOT_FOUND (only ever reached by callers allowed to know).
    static func existing(_ tx: RecordTransaction) throws -> Record {
        guard let record = tx.current else {
            throw DossierError(.notFound, "no record for this patient", reason: "RECORD_NOT_FOUND")
        }
        return record
    }
}

/// A refusal that depends on a document rather than on the record: logged as DENIED with the
/// precise reason, answered with `answer` (NOT_FOUND when the caller may not see the document,
/// so that its existence never leaks; PERMISSION_DENIED with a reason when they see it).
public struct DeniedAttempt: Error, Sendable {
    public let answer: DossierError
    public let logReason: String
    public let documentIDs: [String]

    public init(answer: DossierError, logReason: String, documentIDs: [String]) {
        self.answer = answer
        self.logReason = logReason
        self.documentIDs = documentIDs
    }

    /// The one answer for "no such document" and "a document you may not see".
    public static func documentNotFound(_ id: String, logReason: String = "DOCUMENT_NOT_VISIBLE") -> DeniedAttempt {
        DeniedAttempt(answer: .documentNotFound, logReason: logReason, documentIDs: [id])
    }
}

extension DossierError {
    public static let documentNotFound = DossierError(.notFound, "no such document", reason: "DOCUMENT_NOT_FOUND")
}
