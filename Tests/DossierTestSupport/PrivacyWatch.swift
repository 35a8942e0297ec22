import Foundation
import Logging

/// The log handler of every test server: renders each line at info level (what production
/// logs by default) and checks it for the test suite's patient identifiers and document markers.
/// A hit prints `LOG-PRIVACY-VIOLATION` (never the data itself) on standard error, which
/// `make test` turns into a failure: no health data in the server's log, across the whole suite.
struct PrivacyWatchHandler: LogHandler {
    /// The patient ids the tests use, and the marker prefix of document titles and contents.
    static let forbidden = ["1960050512345", "1985010112345", "1990020254321", "1999999999999", "2001030398765", "MARKER-"]

    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let line = "\(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })"
        if Self.forbidden.contains(where: line.contains) {
            FileHandle.standardError.write(Data("LOG-PRIVACY-VIOLATION in a \(label) line at \(event.level)\n".utf8))
        }
    }
}
