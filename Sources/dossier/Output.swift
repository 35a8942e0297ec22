import DossierClient
import Foundation
import SwiftProtobuf

/// Prints responses as aligned "field  value" tables or as proto3 JSON.
enum Output {
    static func print(_ message: some SwiftProtobuf.Message, json: Bool) throws {
        if json {
            var options = JSONEncodingOptions()
            options.preserveProtoFieldNames = true
            Swift.print(try message.jsonString(options: options))
        }
    }

    static func table(_ rows: [(String, String)]) {
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows where !value.isEmpty {
            Swift.print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }

    static func timestamp(_ value: Google_Protobuf_Timestamp, isSet: Bool) -> String {
        guard isSet else { return "" }
        return ISO8601DateFormatter().string(from: value.date)
    }
}
