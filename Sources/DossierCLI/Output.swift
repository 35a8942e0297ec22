import DossierClient
import Foundation
import SwiftProtobuf

/// Prints responses as aligned "field  value" tables or as proto3 JSON.
enum Output {
    /// Prints `message` in the proto3 JSON mapping, with the proto's field names.
    static func json(_ message: some SwiftProtobuf.Message) throws {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        print(try message.jsonString(options: options))
    }

    /// A JSON object of strings, for answers that are not one proto message (keys in the proto
    /// JSON style: snake case; 64-bit numbers as strings, as the proto3 mapping writes them).
    static func jsonText(_ fields: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func table(_ rows: [(String, String)]) {
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows where !value.isEmpty {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }

    /// Aligned columns under a header.
    static func columns(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }

    /// A progress bar on standard error (for large transfers), redrawn in place.
    /// Drawn only when standard error is a terminal: a log file or a pipe gets no bar.
    static func progress(_ done: UInt64, of total: UInt64, _ label: String) {
        guard isatty(STDERR_FILENO) != 0 else { return }
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int(fraction * 30)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))% \(done >> 20)/\(total >> 20) MiB"
        FileHandle.standardError.write(Data(line.utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func timestamp(_ value: Google_Protobuf_Timestamp, isSet: Bool) -> String {
        guard isSet else { return "" }
        return ISO8601DateFormatter().string(from: value.date)
    }
}
