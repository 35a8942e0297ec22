import Foundation

/// The shape of every operation on a record: derive the caller's relation, decide, run the
/// change, stage one access-log entry (success, denied or failed) — all in one atomic commit,
/// so that the log entry is durable before the caller gets any answer.
struct RecordOperationRunner: Sendable {
    let repository: any RecordRepository

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
        let result: Result<T, DossierError> = try await repository.transact(patient) { tx in
            let relation = RecordRelation.of(caller, to: patient, record: tx.current, settings: tx.settings, at: now)
            let decision = try authorize(relation, tx)
            let basis: AccessBasis
            switch decision {
            case .allowed(let allowed):
                basis = allowed
            case .denied(let reason):
                tx.log(AccessLogEntry(time: now, actor: caller, basis: .none, operation: operation, outcome: .denied, reason: reason))
                // The log keeps the precise reason; the caller gets PERMISSION_DENIED and nothing
                // more (PROTOCOL.md 10.2), the same whether or not the record exists.
                return .failure(.permissionDenied())
            }
            let before = tx
            do {
                let value = try body(&tx, basis)
                Self.noticeFirstAccess(by: caller, basis: basis, in: &tx)
                tx.log(AccessLogEntry(
                    time: now, actor: caller, basis: basis, operation: operation, documentIDs: tx.loggedDocumentIDs,
                    outcome: .success, emergency: basis == .emergency))
                return .success(value)
            } catch let denied as DeniedAttempt {
                tx = before  // refused on a document: logged as denied, answered as `denied.answer`
                tx.log(AccessLogEntry(
                    time: now, actor: caller, basis: basis, operation: operation, documentIDs: denied.documentIDs,
                    outcome: .denied, reason: denied.logReason, emergency: basis == .emergency))
                return .failure(denied.answer)
            } catch let error as DossierError {
                let documentIDs = tx.loggedDocumentIDs
                tx = before  // nothing of a failed operation is committed but its log entry
                tx.log(AccessLogEntry(
                    time: now, actor: caller, basis: basis, operation: operation, documentIDs: documentIDs,
                    outcome: .failed,
                    reason: error.reason ?? "failed", emergency: basis == .emergency))
                return .failure(error)
            }
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
