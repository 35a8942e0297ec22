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

    static func table(_ rows: [(String, String)]) {
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows where !value.isEmpty {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }

    static func timestamp(_ value: Google_Protobuf_Timestamp, isSet: Bool) -> String {
        guard isSet else { return "" }
        return ISO8601DateFormatter().string(from: value.date)
    }
}
