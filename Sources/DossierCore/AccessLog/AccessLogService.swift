import Foundation

/// Filters of a log listing; all optional.
public struct AccessLogFilter: Sendable {
    public var since: Date?
    public var until: Date?
    public var actorID: String?
    public var operations: Set<LoggedOperation> = []
    public var outcomes: Set<AccessOutcome> = []
    public var emergencyOnly = false
    public var documentID: String?

    public init() {}

    public func matches(_ entry: AccessLogEntry) -> Bool {
        if let since, entry.time < since { return false }
        if let until, entry.time >= until { return false }
        if let actorID, entry.actor.id != actorID { return false }
        if !operations.isEmpty, !operations.contains(entry.operation) { return false }
        if !outcomes.isEmpty, !outcomes.contains(entry.outcome) { return false }
        if emergencyOnly, !entry.emergency { return false }
        if let documentID, !entry.documentIDs.contains(documentID) { return false }
        return true
    }
}

/// The patient's view of who did what on their record. Only the patient and their delegate
/// read the log; operators never see its content. Reading the log is itself logged.
public struct AccessLogService: Sendable {
    public let repository: any RecordRepository
    public let chain: any LogChainRepository
    public let signer: any LogSigner
    /// SHA-256 (injected: the domain knows no crypto library).
    public let hash: @Sendable ([UInt8]) -> [UInt8]
    public let clock: @Sendable () -> Date

    public init(
        repository: any RecordRepository & LogChainRepository, signer: any LogSigner,
        hash: @escaping @Sendable ([UInt8]) -> [UInt8], clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.chain = repository
        self.signer = signer
        self.hash = hash
        self.clock = clock
    }

    public static func decide(_ relation: RecordRelation) -> AccessDecision {
        switch relation {
        case .patient: .allowed(.patient)
        case .delegate: .allowed(.delegate)
        case .none: .denied(reason: "NO_ACCESS")
        default: .denied(reason: "PATIENT_OR_DELEGATE_ONLY")
        }
    }

    /// One page of the log, newest first unless `oldestFirst`, after the cursor `after`.
    public func list(
        _ patient: PatientID, filter: AccessLogFilter, oldestFirst: Bool, after: UInt64?, limit: Int, by caller: Principal
    ) async throws -> [SequencedLogEntry] {
        let now = clock()
        // Entries about documents hidden from the patient are not in the log until the
        // document is released (decision 0005): nothing to filter here.
        try await RecordOperationRunner(repository: repository).perform(
            .listAccessLog, on: patient, by: caller, at: now, authorize: { relation, _ in Self.decide(relation) },
            body: { tx, _ in _ = try RecordOperationRunner.existing(tx) })
        return try await repository.readAccessLog(
            patient, AccessLogQuery(newestFirst: !oldestFirst, after: after, limit: limit, matches: filter.matches))
    }

    /// Verifies the record's whole chain (and the patient's kept checkpoint, if given); the
    /// verification is itself logged first, so it covers its own entry. Patient, delegate or
    /// operator (who learns the result, never the content).
    public func verify(_ patient: PatientID, trusted: LogCheckpoint?, by caller: Principal) async throws -> (LogVerification, LogCheckpoint?) {
        if let trusted, trusted.patientID != patient.rawValue {
            throw DossierError(
                .invalidArgument, "the checkpoint is for another record", reason: "CHECKPOINT_OTHER_RECORD", field: "trusted_checkpoint")
        }
        try await RecordOperationRunner(repository: repository).perform(
            .verifyAccessLog, on: patient, by: caller, at: clock(),
            authorize: { relation, _ in
                if case .operator = relation { return .allowed(.operator) }
                return Self.decide(relation)
            },
            body: { tx, _ in _ = try RecordOperationRunner.existing(tx) })
        let links = try await chain.readLogChain(patient)
        let result = LogVerification.verify(links, patient: patient, trusted: trusted, signer: signer, hash: hash)
        guard case .verified(_, let sequence, let head) = result else { return (result, nil) }
        return (result, try sign(patient, sequence: sequence, head: head))
    }

    /// A signed checkpoint of the current head, for the patient to keep (logged first: the
    /// checkpoint covers its own entry).
    public func checkpoint(_ patient: PatientID, by caller: Principal) async throws -> LogCheckpoint {
        try await RecordOperationRunner(repository: repository).perform(
            .getLogCheckpoint, on: patient, by: caller, at: clock(), authorize: { relation, _ in Self.decide(relation) },
            body: { tx, _ in _ = try RecordOperationRunner.existing(tx) })
        let head = try await chain.readLogHead(patient)
        return try sign(patient, sequence: head.sequence, head: head.hash)
    }

    private func sign(_ patient: PatientID, sequence: UInt64, head: [UInt8]) throws -> LogCheckpoint {
        var checkpoint = LogCheckpoint(
            patientID: patient.rawValue, sequence: sequence, headHash: head, signedAt: clock(), keyID: signer.currentKeyID)
        checkpoint.signature = try signer.sign(checkpoint.signedText)
        return checkpoint
    }
}
