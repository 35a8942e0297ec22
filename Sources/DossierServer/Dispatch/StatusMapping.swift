import DossierCore
import DossierTransport
import DossierStore
import DossierProto
import DossierWire
import SwiftProtobuf

/// The one place where errors become wire statuses. Anything unmapped becomes INTERNAL with a
/// generic message; its detail goes to the server log only.
enum StatusMapping {
    static func code(for code: DossierError.Code) -> StatusCode {
        switch code {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .permissionDenied: .permissionDenied
        case .failedPrecondition: .failedPrecondition
        case .unauthenticated: .unauthenticated
        case .resourceExhausted: .resourceExhausted
        case .deadlineExceeded: .deadlineExceeded
        case .unavailable: .unavailable
        case .unimplemented: .unimplemented
        case .aborted: .aborted
        case .outOfRange: .outOfRange
        default: .internal
        }
    }

    /// The status for `error`, and whether it is unexpected (to be logged as an error).
    static func status(for error: any Error) -> (status: Google_Rpc_Status, unexpected: Bool) {
        switch error {
        case let error as DossierError:
            return (make(code(for: error.code), error.message, reason: error.reason, field: error.field), error.code == .internalError)
        case let error as RPCPayloadDecodingError:
            return (make(.invalidArgument, error.description, reason: "INVALID_PAYLOAD"), false)
        case is CancellationError:
            return (make(.cancelled, "call cancelled"), false)
        case is StoreUnavailableError:
            // Logged as a warning by the caller's metrics, not as an unexpected error: a
            // failover is expected; nothing was acknowledged.
            return (make(.unavailable, "storage unavailable; retry after a pause", reason: "STORAGE_UNAVAILABLE"), false)
        case is StoreBusyError:
            var status = Ttrpc_Response.busy(retryAfter: .seconds(1)).status
            status.message = "the server is busy; retry later"
            return (status, false)
        default:
            return (make(.internal, "internal error"), true)
        }
    }

    static func make(_ code: StatusCode, _ message: String, reason: String? = nil, field: String? = nil) -> Google_Rpc_Status {
        var status = Google_Rpc_Status()
        status.code = code.rawValue
        status.message = message
        if let reason {
            var detail = Dossier_V1_ErrorDetail()
            detail.reason = reason
            detail.field = field ?? ""
            if let any = try? Google_Protobuf_Any(message: detail) {
                status.details = [any]
            }
        }
        return status
    }
}

extension DossierError {
    /// The answer of rpcs defined in proto/ whose use case does not exist yet (the dispatcher
    /// gives the same answer for methods with no handler at all).
    static let notImplementedYet = DossierError(.unimplemented, "not implemented yet", reason: "NOT_IMPLEMENTED")
}
