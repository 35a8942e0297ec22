import Foundation
import Logging

/// One JSON object per line on standard error, for log shippers:
/// `{"time":"2026-11-27T10:00:00.123Z","level":"info","logger":"dossierd","message":"call",...}`
/// with the metadata as further string fields (they never hold health data: see
/// docs/OPERATIONS.md, "Logs").
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let lock = NSLock()

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = Self.line(level: event.level.rawValue, label: label, message: "\(event.message)", metadata: merged)
        Self.lock.lock()
        defer { Self.lock.unlock() }
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One JSON object and a newline.
    static func line(level: String, label: String, message: String, metadata: Logger.Metadata) -> String {
        var fields: [(String, String)] = [
            ("time", Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            ("level", level), ("logger", label), ("message", message),
        ]
        for key in metadata.keys.sorted() where !["time", "level", "logger", "message"].contains(key) {
            fields.append((key, "\(metadata[key]!)"))
        }
        return "{" + fields.map { "\(quoted($0.0)):\(quoted($0.1))" }.joined(separator: ",") + "}\n"
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
