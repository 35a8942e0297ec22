internal import CRocksDB

/// An error reported by RocksDB or by this wrapper.
///
/// The message is RocksDB's own status text (for example
/// `IO error: While lock file: /data/LOCK: Resource temporarily unavailable`) or a
/// fixed text from the wrapper. It never contains key or value bytes: keys carry
/// patient identifiers, so nothing here ever formats them.
public struct RocksDBError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The broad kind of failure; new codes may be added without breaking callers.
    public let code: Code
    /// Human-readable detail, free of keys and values.
    public let message: String

    /// Creates an error; `code` defaults to the one implied by RocksDB's message prefix.
    public init(_ message: String, code: Code? = nil) {
        self.message = message
        self.code = code ?? Code(statusMessage: message)
    }

    /// The code and message, for logs.
    public var description: String { "RocksDBError(\(code)): \(message)" }

    static let closed = RocksDBError("database is closed", code: .databaseClosed)
    static let foreignFamily = RocksDBError(
        "column family belongs to a different database", code: .invalidArgument)
    static let foreignSnapshot = RocksDBError(
        "snapshot belongs to a different database", code: .invalidArgument)
}

extension RocksDBError {
    /// The kind of failure, as a growable set of values rather than a closed enum.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case databaseClosed, invalidArgument, ioError, corruption, notSupported
            case busy, incomplete, shutdownInProgress, timedOut, aborted, tryAgain, unknown
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The database (or the iterator's database) was closed.
        public static let databaseClosed = Code(.databaseClosed)
        /// Bad options or arguments, including a family or snapshot of another database.
        public static let invalidArgument = Code(.invalidArgument)
        /// The file system failed, or the database is locked by another opener.
        public static let ioError = Code(.ioError)
        /// Data on disk failed a checksum or format check.
        public static let corruption = Code(.corruption)
        /// The operation or a compression type is not available in this build.
        public static let notSupported = Code(.notSupported)
        /// A resource is busy (for example a conflicting operation).
        public static let busy = Code(.busy)
        /// The result is incomplete.
        public static let incomplete = Code(.incomplete)
        /// RocksDB is shutting down.
        public static let shutdownInProgress = Code(.shutdownInProgress)
        /// An operation timed out.
        public static let timedOut = Code(.timedOut)
        /// An operation was aborted.
        public static let aborted = Code(.aborted)
        /// A transient failure; retrying may succeed.
        public static let tryAgain = Code(.tryAgain)
        /// Any other failure.
        public static let unknown = Code(.unknown)

        /// The code's name, such as "ioError".
        public var description: String { kind.rawValue }

        /// Classifies RocksDB's `Status::ToString()` text by its fixed prefix.
        init(statusMessage message: String) {
            let prefixes: [(String, Kind)] = [
                ("Invalid argument", .invalidArgument), ("IO error", .ioError),
                ("Corruption", .corruption), ("Not implemented", .notSupported),
                ("Resource busy", .busy), ("Result incomplete", .incomplete),
                ("Shutdown in progress", .shutdownInProgress),
                ("Operation timed out", .timedOut), ("Operation aborted", .aborted),
                ("Operation failed. Try again", .tryAgain),
            ]
            kind = prefixes.first { message.hasPrefix($0.0) }?.1 ?? .unknown
        }
    }
}

/// Runs a C call that reports failure through a `char** errptr`, and turns a reported
/// error into a `RocksDBError`.
///
/// This is the only place where C error strings become Swift errors (as `ffi_try!` is
/// in rust-rocksdb). The C string is freed here with `rocksdb_free`. Callers must not
/// add key or value bytes to the message.
@discardableResult
func ffiTry<Result>(
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> Result
) throws -> Result {
    var errorPointer: UnsafeMutablePointer<CChar>? = nil
    let result = try body(&errorPointer)
    if let errorPointer {
        let message = String(cString: errorPointer)
        rocksdb_free(errorPointer)
        throw RocksDBError(message)
    }
    return result
}
