import Foundation

/// Rectification requests (EHDS Art. 5): the patient or delegate asks for a document to be
/// corrected; its author or the record's referring physician answers by replacing it (which
/// closes the request, linked to the new version: `RecordTransaction.closeRectifications`) or
/// by declining with a reason. Every call is logged, refusals included.
extension DocumentService {
    /// Opens a request about a current document the patient sees.
    public func requestRectification(
        _ patient: PatientID, documentID: String, reason: String, by caller: Principal
    ) async throws -> RectificationRequest {
        try DocumentValidation.checkDocumentID(documentID)
        let reason = try RectificationRequest.checkText(reason, field: "reason")
        let now = clock()
        let id = "r-" + Self.randomHex(bytes: 16)
        return try await performRectification(
            .requestRectification, on: patient, by: caller, at: now,
            authorize: { relation, _ in AccessLogService.decide(relation) },
            body: { tx, context in
                let document = try context.visible(documentID, in: &tx)
                try context.requireWritable(tx)
                guard !document.patientSpace else {
                    throw DossierError(
                        .failedPrecondition, "a personal-space document is changed by the patient herself",
                        reason: "PATIENT_SPACE_DOCUMENT")
                }
                try Self.requireCurrent(document)
                var settings = tx.effectiveSettings
                guard settings.rectifications.count(where: { $0.status == .open }) < RectificationRequest.maxOpen else {
                    throw DossierError(
                        .failedPrecondition, "the record has \(RectificationRequest.maxOpen) open rectification requests",
                        reason: "TOO_MANY_RECTIFICATIONS")
                }
                let request = RectificationRequest(id: id, documentID: documentID, requestedBy: caller, requestedAt: now, reason: reason)
                settings.rectifications.append(request)
                tx.updatedSettings = settings
                return request
            })
    }

    /// The requests the caller may see, newest first: all of them for the patient and
    /// delegate; for a professional or organisation, those about documents they authored and,
    /// for the referring physician, about every document they see.
    public func rectificationRequests(
        _ patient: PatientID, openOnly: Bool, documentID: String?, by caller: Principal
    ) async throws -> [RectificationRequest] {
        if let documentID { try DocumentValidation.checkDocumentID(documentID) }
        return try await performRectification(
            .listRectificationRequests, on: patient, by: caller, at: clock(),
            authorize: Self.anyoneWithAccess(caller, now: clock()),
            body: { tx, context in
                _ = try RecordOperationRunner.existing(tx)
                let requests = try tx.settings.rectifications
                    .filter { (!openOnly || $0.status == .open) && (documentID == nil || $0.documentID == documentID) }
                    .filter { try context.mayAnswerOrSee($0, in: tx) }
                    .sorted { ($0.requestedAt, $0.id) > ($1.requestedAt, $1.id) }
                var seen = Set<String>()
                tx.loggedDocumentIDs = requests.map(\.documentID).filter { seen.insert($0).inserted }
                return requests
            })
    }

    /// Declines an open request with a reason shown to the patient (the author of the document
    /// or the referring physician).
    public func declineRectification(
        _ patient: PatientID, requestID: String, reason: String, by caller: Principal
    ) async throws -> RectificationRequest {
        guard !requestID.isEmpty else { throw DossierError.missingField("rectification_request_id") }
        let reason = try RectificationRequest.checkText(reason, field: "reason")
        let now = clock()
        return try await performRectification(
            .declineRectification, on: patient, by: caller, at: now,
            authorize: { relation, tx in
                switch relation {
                case .patient, .delegate: return .denied(reason: "PROFESSIONALS_ONLY")
                default: return try Self.anyoneWithAccess(caller, now: now)(relation, tx)
                }
            },
            body: { tx, context in
                _ = try RecordOperationRunner.existing(tx)
                var settings = tx.effectiveSettings
                let notFound = DossierError(
                    .notFound, "no such rectification request", reason: "RECTIFICATION_NOT_FOUND", field: "rectification_request_id")
                guard let index = settings.rectifications.firstIndex(where: { $0.id == requestID }) else { throw notFound }
                let request = settings.rectifications[index]
                tx.loggedDocumentIDs = [request.documentID]
                guard try context.mayAnswerOrSee(request, in: tx) else {
                    throw DeniedAttempt(answer: notFound, logReason: "NOT_AUTHOR", documentIDs: [request.documentID])
                }
                guard request.status == .open else {
                    throw DossierError(.failedPrecondition, "the request was already answered", reason: "RECTIFICATION_CLOSED")
                }
                settings.rectifications[index].status = .declined
                settings.rectifications[index].answer = reason
                settings.rectifications[index].answeredBy = caller
                settings.rectifications[index].answeredAt = now
                tx.updatedSettings = settings
                tx.notifications.append(NotificationDraft(
                    kind: .rectificationDeclined, actor: caller, documentIDs: [request.documentID], rectificationRequestID: requestID))
                return settings.rectifications[index]
            })
    }

    /// The patient and delegate; professionals and organisations as for reading documents
    /// (an access to the active record, or authored documents of it); never operators.
    static func anyoneWithAccess(
        _ caller: Principal, now: Date
    ) -> @Sendable (RecordRelation, RecordTransaction) throws -> AccessDecision {
        { relation, tx in
            let authored: Bool
            if case .none = relation, caller.kind == .professional || caller.kind == .organisation, !tx.settings.isBlocked(caller) {
                authored = try tx.storage.hasDocuments(authoredBy: caller)
            } else {
                authored = false
            }
            return DocumentAuthorization.decide(.read, relation: relation, state: tx.current?.state(at: now), authoredDocuments: authored)
        }
    }

    func performRectification<T: Sendable>(
        _ logged: LoggedOperation, on patient: PatientID, by caller: Principal, at now: Date,
        authorize: @escaping @Sendable (RecordRelation, RecordTransaction) throws -> AccessDecision,
        body: @escaping @Sendable (inout RecordTransaction, DocumentContext) throws -> T
    ) async throws -> T {
        let matrix = self.matrix()
        return try await RecordOperationRunner(repository: repository).perform(
            logged, on: patient, by: caller, at: now, authorizeIn: authorize,
            body: { tx, _ in
                let relation = RecordRelation.of(caller, to: patient, record: tx.current, settings: tx.settings, at: now)
                let context = DocumentContext(
                    caller: caller, relation: relation, withoutEmergency: tx.relationWithoutEmergency, matrix: matrix, now: now)
                return try body(&tx, context)
            })
    }
}

extension DocumentContext {
    /// The patient and delegate see every request of their record; a professional or
    /// organisation sees (and may decline) those about documents they authored, and the
    /// referring physician those about every document they see.
    func mayAnswerOrSee(_ request: RectificationRequest, in tx: RecordTransaction) throws -> Bool {
        switch relation {
        case .patient, .delegate: return true
        case .operator: return false
        case .professional, .none:
            guard let document = try tx.document(request.documentID), canSee(document) else { return false }
            let referring = tx.current?.enrollment.referringPhysicianID
            return DocumentAuthorization.isProfessionalAuthor(document, caller)
                || (caller.kind == .professional && caller.id == referring && !document.patientSpace)
        }
    }
}
