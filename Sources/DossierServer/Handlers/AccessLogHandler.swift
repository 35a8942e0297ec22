import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.AccessLog`: the patient's view of their record's log.
struct AccessLogHandler: Dossier_V1_AccessLogService {
    let log: AccessLogService

    func listAccessLog(_ request: Dossier_V1_ListAccessLogRequest, context: CallContext) async throws -> Dossier_V1_ListAccessLogResponse {
        let patient = try PatientID(validating: request.patientID)
        let size = Page.size(request.pageSize)
        let after = try context.pageTokens.position(of: request, context: context).map(PagePosition.decodeUInt64)
        var filter = AccessLogFilter()
        if request.hasSince { filter.since = request.since.date }
        if request.hasUntil { filter.until = request.until.date }
        filter.actorID = request.actorID.isEmpty ? nil : request.actorID
        filter.documentID = request.documentID.isEmpty ? nil : request.documentID
        filter.emergencyOnly = request.emergencyOnly
        for operation in request.operations {
            guard let logged = LogConversions.operation(operation) else {
                throw DossierError(.invalidArgument, "unknown operation", reason: "INVALID_ENUM", field: "operations")
            }
            filter.operations.insert(logged)
        }
        for outcome in request.outcomes {
            guard let domain = LogConversions.outcome(outcome) else {
                throw DossierError(.invalidArgument, "unknown outcome", reason: "INVALID_ENUM", field: "outcomes")
            }
            filter.outcomes.insert(domain)
        }
        // One extra entry tells whether there is a next page.
        let entries = try await log.list(
            patient, filter: filter, oldestFirst: request.oldestFirst, after: after, limit: size + 1, by: context.principal)
        let page = entries.prefix(size)
        let next = entries.count > size ? try context.pageTokens.make(PagePosition.encode(page.last!.sequence), for: request, context: context) : ""
        return .with {
            $0.entries = page.map { Dossier_V1_AccessLogEntry($0, patient: patient) }
            $0.nextPageToken = next
        }
    }

    func verifyAccessLog(_ request: Dossier_V1_VerifyAccessLogRequest, context: CallContext) async throws -> Dossier_V1_VerifyAccessLogResponse {
        let patient = try PatientID(validating: request.patientID)
        let trusted = request.hasTrustedCheckpoint ? LogCheckpoint(request.trustedCheckpoint) : nil
        let (result, checkpoint) = try await log.verify(patient, trusted: trusted, by: context.principal)
        return .with {
            switch result {
            case .verified(let entries, let sequence, let head):
                $0.result = .verified
                $0.entriesVerified = entries
                $0.headSequence = sequence
                $0.headHash = Data(head)
            case .failed(let entries, let first, let failure, let detail):
                $0.result = .failed
                $0.entriesVerified = entries
                $0.firstBadSequence = first
                $0.failure = switch failure {
                case .entryHashMismatch: .entryHashMismatch
                case .chainBroken: .chainBroken
                case .sequenceGap: .sequenceGap
                case .truncated: .truncated
                case .checkpointMismatch: .checkpointMismatch
                case .checkpointSignatureInvalid: .checkpointSignatureInvalid
                case .entryUnreadable: .entryUnreadable
                }
                $0.failureDetail = detail
            }
            if let checkpoint { $0.checkpoint = Dossier_V1_LogCheckpoint(checkpoint) }
        }
    }

    func getLogCheckpoint(_ request: Dossier_V1_GetLogCheckpointRequest, context: CallContext) async throws -> Dossier_V1_GetLogCheckpointResponse {
        let checkpoint = try await log.checkpoint(try PatientID(validating: request.patientID), by: context.principal)
        return .with { $0.checkpoint = Dossier_V1_LogCheckpoint(checkpoint) }
    }

    func listLogSigningKeys(_ request: Dossier_V1_ListLogSigningKeysRequest, context: CallContext) async throws -> Dossier_V1_ListLogSigningKeysResponse {
        let keys = log.signer.keys
        return .with {
            $0.keys = keys.map { key in
                .with {
                    $0.keyID = key.keyID
                    $0.algorithm = key.algorithm
                    $0.publicKey = Data(key.publicKey)
                    $0.validFrom = Google_Protobuf_Timestamp(date: key.validFrom)
                    if let until = key.validUntil { $0.validUntil = Google_Protobuf_Timestamp(date: until) }
                }
            }
        }
    }
}

extension LogCheckpoint {
    init(_ checkpoint: Dossier_V1_LogCheckpoint) {
        self.init(
            patientID: checkpoint.patientID, sequence: checkpoint.sequence, headHash: [UInt8](checkpoint.headHash),
            signedAt: checkpoint.signedAt.date, keyID: checkpoint.keyID, signature: [UInt8](checkpoint.signature))
    }
}

extension Dossier_V1_LogCheckpoint {
    init(_ checkpoint: LogCheckpoint) {
        self.init()
        patientID = checkpoint.patientID
        sequence = checkpoint.sequence
        headHash = Data(checkpoint.headHash)
        signedAt = Google_Protobuf_Timestamp(date: checkpoint.signedAt)
        keyID = checkpoint.keyID
        signature = Data(checkpoint.signature)
    }
}

/// Log values ⇄ API enums. The domain's operation names are the rpc names, as the API's are.
enum LogConversions {
    private static let operations: [LoggedOperation: Dossier_V1_AccessOperation] = Dictionary(
        uniqueKeysWithValues: LoggedOperation.allCases.compactMap { logged in
            Dossier_V1_AccessOperation.allCases.first { "\($0)" == logged.rawValue }.map { (logged, $0) }
        })

    static func operation(_ logged: LoggedOperation) -> Dossier_V1_AccessOperation {
        operations[logged] ?? .unspecified
    }

    static func operation(_ operation: Dossier_V1_AccessOperation) -> LoggedOperation? {
        operations.first { $0.value == operation }?.key
    }

    static func outcome(_ outcome: AccessOutcome) -> Dossier_V1_AccessOutcome {
        switch outcome {
        case .success: .success
        case .denied: .denied
        case .failed: .failed
        }
    }

    static func outcome(_ outcome: Dossier_V1_AccessOutcome) -> AccessOutcome? {
        switch outcome {
        case .success: .success
        case .denied: .denied
        case .failed: .failed
        default: nil
        }
    }
}

extension Dossier_V1_AccessLogEntry {
    init(_ logged: SequencedLogEntry, patient: PatientID) {
        self.init()
        let entry = logged.entry
        patientID = patient.rawValue
        sequence = logged.sequence
        time = Google_Protobuf_Timestamp(date: entry.time)
        actor = Dossier_V1_Actor(entry.actor)
        basis = Dossier_V1_AccessBasis(entry.basis)
        operation = LogConversions.operation(entry.operation)
        documentIds = entry.documentIDs
        outcome = LogConversions.outcome(entry.outcome)
        reason = entry.reason
        emergency = entry.emergency
        emergencyReason = entry.details.emergencyReason
        if let principal = entry.details.subject {
            subject = .with {
                $0.kind = Dossier_V1_PrincipalKind(principal.kind)
                $0.id = principal.id
            }
        }
        grantID = entry.details.grantID
        requestID = entry.requestID
        prevHash = Data(logged.prevHash)
        entryHash = Data(logged.entryHash)
    }
}
