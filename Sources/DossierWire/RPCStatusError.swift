public import DossierProto

/// A call answered with a non-OK status.
public struct RPCStatusError: Error, Sendable, CustomStringConvertible, Equatable {
    public let code: StatusCode
    public let message: String
    /// The ErrorDetail reason, when the server attached one.
    public let reason: String?
    /// The ErrorDetail field (the request field at fault), when the server named one.
    public let field: String?

    public init(code: StatusCode, message: String, reason: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
        self.field = field
    }

    /// Reads the status of a response; the ErrorDetail reason is taken from its details.
    public init(status: Google_Rpc_Status) {
        let detail = status.details.lazy.compactMap { try? Dossier_V1_ErrorDetail(unpackingAny: $0) }.first
        self.init(code: StatusCode(rawValue: status.code), message: status.message, reason: detail?.reason.nilIfEmpty,
            field: detail?.field.nilIfEmpty)
    }

    public var description: String {
        "\(code): \(message)" + (reason.map { " (\($0))" } ?? "") + (field.map { " [\($0)]" } ?? "")
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
