/// An error the domain reports to callers. The code maps one-to-one to a wire status
/// (see DossierServer's StatusMapping); the message never contains health data or
/// identifiers beyond what the caller sent.
public struct DossierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Kinds of failure; a struct so that new codes do not break users.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case invalidArgument, notFound, alreadyExists, permissionDenied, failedPrecondition
            case unauthenticated, resourceExhausted, deadlineExceeded, unavailable, unimplemented
            case aborted, internalError, outOfRange
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let invalidArgument = Code(.invalidArgument)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        public static let permissionDenied = Code(.permissionDenied)
        public static let failedPrecondition = Code(.failedPrecondition)
        public static let unauthenticated = Code(.unauthenticated)
        public static let resourceExhausted = Code(.resourceExhausted)
        public static let deadlineExceeded = Code(.deadlineExceeded)
        public static let unavailable = Code(.unavailable)
        public static let unimplemented = Code(.unimplemented)
        public static let aborted = Code(.aborted)
        public static let internalError = Code(.internalError)
        public static let outOfRange = Code(.outOfRange)

        public var description: String { value.rawValue }
    }

    public let code: Code
    /// English explanation for developers.
    public let message: String
    /// Stable upper-snake reason for programs, e.g. "RECORD_CLOSED".
    public let reason: String?
    /// The request field at fault (proto field name), if any.
    public let field: String?

    public init(_ code: Code, _ message: String, reason: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.reason = reason
        self.field = field
    }

    public var description: String { "\(code): \(message)" }

    /// The caller may not do this. Used as well where NOT_FOUND would reveal existence.
    public static func permissionDenied(_ message: String = "permission denied") -> DossierError {
        DossierError(.permissionDenied, message, reason: "PERMISSION_DENIED")
    }

    public static func missingField(_ field: String) -> DossierError {
        DossierError(.invalidArgument, "\(field) is required", reason: "MISSING_FIELD", field: field)
    }
}
