import RocksDB
import Testing

@Suite struct RocksDBErrorTests {
    @Test(arguments: [
        ("IO error: While lock file: /x/LOCK: Resource temporarily unavailable", .ioError),
        ("Invalid argument: /x: does not exist (create_if_missing is false)", .invalidArgument),
        ("Corruption: block checksum mismatch", .corruption),
        ("Not implemented: Unsupported compression method", .notSupported),
        ("Resource busy: ", .busy),
        ("Operation timed out: ", .timedOut),
        ("Operation failed. Try again.: ", .tryAgain),
        ("Shutdown in progress: ", .shutdownInProgress),
        ("something else", .unknown),
    ] as [(String, RocksDBError.Code)])
    func codeFollowsStatusPrefix(message: String, code: RocksDBError.Code) {
        let error = RocksDBError(message)
        #expect(error.code == code)
        #expect(error.message == message)
        #expect(error.description.contains(message))
    }

    @Test func explicitCodeWins() {
        #expect(RocksDBError("IO error: x", code: .aborted).code == .aborted)
    }
}
