import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.AccessLog`: the patient's view of their record's log.
struct AccessLogHandler: Dossier_V1_AccessLogService {
    let log: AccessLogService

    func listAccessLog(_ request: Dossier_V1_ListAccessLogRequest, context: CallContext) async throws -> Dossier_V1_ListAccessLogResponse {
        let patient = try PatientID(validating: request.patientID)
        let size = request.pageSize == 0 ? Page.defaultSize : min(Int(request.pageSize), Page.maxSize)
        var after: UInt64?
        if !request.pageToken.isEmpty {
            guard request.pageToken.hasPrefix("s"), let sequence = UInt64(request.pageToken.dropFirst()) else {
                throw DossierError(.invalidArgument, "page_token is not a token of this list", reason: "INVALID_PAGE_TOKEN", field: "page_token")
            }
            after = sequence
        }
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
        return .with {
            $0.entries = page.map { Dossier_V1_AccessLogEntry($0, patient: patient) }
            $0.nextPageToken = entries.count > size ? "s\(page.last!.sequence)" : ""
        }
    }

    // Hash chain, checkpoints and their keys come with the tamper-evident log.

    func verifyAccessLog(_ request: Dossier_V1_VerifyAccessLogRequest, context: CallContext) async throws -> Dossier_V1_VerifyAccessLogResponse {
        throw DossierError.notImplementedYet
    }

    func getLogCheckpoint(_ request: Dossier_V1_GetLogCheckpointRequest, context: CallContext) async throws -> Dossier_V1_GetLogCheckpointResponse {
        throw DossierError.notImplementedYet
    }

    func listLogSigningKeys(_ request: Dossier_V1_ListLogSigningKeysRequest, context: CallContext) async throws -> Dossier_V1_ListLogSigningKeysResponse {
        throw DossierError.notImplementedYet
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
    }
}
