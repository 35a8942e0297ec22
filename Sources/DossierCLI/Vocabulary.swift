import ArgumentParser
import DossierClient
import SwiftProtobuf

/// One vocabulary for enum values. JSON output carries the proto names as SwiftProtobuf prints
/// them (`GRANT_BASIS_REFERRING_PHYSICIAN`); flags and tables use the same names without the
/// enum's prefix, in lower-case kebab (`referring-physician`).
enum Vocabulary {
    /// `GRANT_BASIS_REFERRING_PHYSICIAN` → `referring-physician`; empty for the `UNSPECIFIED` value.
    static func name(_ value: some SwiftProtobuf.Enum) -> String {
        guard value.rawValue != 0 else { return "" }
        // SwiftProtobuf names a case after the proto value without the enum's prefix, in
        // lowerCamelCase (GRANT_BASIS_REFERRING_PHYSICIAN → referringPhysician): its words are
        // the proto name's.
        let caseName = String(describing: value)
        guard !caseName.hasPrefix("UNRECOGNIZED") else { return "unknown-\(value.rawValue)" }
        var text = ""
        for character in caseName {
            if character.isUppercase, !text.isEmpty { text += "-" }
            text += character.lowercased()
        }
        return text
    }

    /// The names a flag accepts: every value but `UNSPECIFIED`.
    static func names<Value: SwiftProtobuf.Enum & CaseIterable>(of type: Value.Type) -> [String] {
        Value.allCases.filter { $0.rawValue != 0 }.map(name)
    }

    static func value<Value: SwiftProtobuf.Enum & CaseIterable>(_ text: String, of type: Value.Type) -> Value? {
        let text = text.lowercased()
        return Value.allCases.first { $0.rawValue != 0 && name($0) == text }
    }
}

/// A proto enum as a typed flag value: validated, listed in help and shell completion, in the
/// vocabulary of `Vocabulary`.
public protocol VocabularyArgument: SwiftProtobuf.Enum, CaseIterable, ExpressibleByArgument {}

extension VocabularyArgument {
    public init?(argument: String) {
        guard let value = Vocabulary.value(argument, of: Self.self) else { return nil }
        self = value
    }

    public static var allValueStrings: [String] { Vocabulary.names(of: Self.self) }

    /// No per-value descriptions: help lists the names (ArgumentParser's default for a
    /// RawRepresentable enum would key them by the proto numbers and print empty ones).
    public static var allValueDescriptions: [String: String] { [:] }

    public var defaultValueDescription: String { Vocabulary.name(self) }
}

extension Dossier_V1_DocumentClass: VocabularyArgument {}
extension Dossier_V1_SensitiveCategory: VocabularyArgument {}
extension Dossier_V1_ConfidentialityLevel: VocabularyArgument {}
extension Dossier_V1_RevocationReason: VocabularyArgument {}
extension Dossier_V1_EmergencyPreference: VocabularyArgument {}
extension Dossier_V1_NotificationKind: VocabularyArgument {}
