import Foundation

/// A setting's value as a source gave it: text from a flag or a variable, a JSON value from the
/// configuration file.
enum RawSetting {
    case text(String)
    case json(JSONValue)
}

/// What a setting holds, and the one place where each kind is parsed and range-checked. A value
/// is accepted only if it parses as its kind, is finite and lies in its range: nothing past this
/// point can trap on a conversion (seconds to nanoseconds, days to seconds, bytes to UInt64).
enum SettingKind {
    /// Free text that must not be empty (an address).
    case text
    /// A file or directory path (not empty).
    case path
    /// A path, or nothing (empty text and JSON null mean "not set").
    case optionalPath
    /// Text, or nothing (empty text and JSON null mean "not set").
    case optionalText
    /// `true` or `false` (a JSON boolean; the text exactly `true` or `false`).
    case boolean
    /// A whole number in a range, with a unit for messages.
    case integer(ClosedRange<Int>, unit: String)
    /// A finite number (fractions allowed) in a range, with a unit for messages.
    case number(ClosedRange<Double>, unit: String)
    /// One of a fixed list of words.
    case choice([String])

    /// The parsed value, or why it is refused (without the setting's name: the caller adds it).
    func parse(_ raw: RawSetting) -> Result<SettingValue, SettingProblem> {
        switch (self, raw) {
        case (.text, .text(let text)), (.path, .text(let text)):
            return text.isEmpty ? .failure(.init("must not be empty")) : .success(.text(text))
        case (.text, .json(.string(let text))), (.path, .json(.string(let text))):
            return text.isEmpty ? .failure(.init("must not be empty")) : .success(.text(text))
        case (.optionalPath, .text(let text)), (.optionalPath, .json(.string(let text))),
            (.optionalText, .text(let text)), (.optionalText, .json(.string(let text))):
            return .success(text.isEmpty ? .none : .text(text))
        case (.optionalPath, .json(.null)), (.optionalText, .json(.null)):
            return .success(.none)
        case (.boolean, .text(let text)):
            switch text {
            case "true": return .success(.boolean(true))
            case "false": return .success(.boolean(false))
            default: return .failure(.init("must be true or false, not \(Self.quoted(text))"))
            }
        case (.boolean, .json(.boolean(let value))):
            return .success(.boolean(value))
        case (.integer(let range, let unit), .text(let text)):
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                return .failure(.init("must be \(expected), not \(Self.quoted(text))"))
            }
            return Self.check(value, range, unit)
        case (.integer(let range, let unit), .json(.integer(let value))):
            return Self.check(value, range, unit)
        case (.integer, .json(.number(let value))):
            return .failure(.init("must be \(expected), not \(value)"))
        case (.number(let range, let unit), .text(let text)):
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else {
                return .failure(.init("must be \(expected), not \(Self.quoted(text))"))
            }
            return Self.check(value, range, unit)
        case (.number(let range, let unit), .json(.integer(let value))):
            return Self.check(Double(value), range, unit)
        case (.number(let range, let unit), .json(.number(let value))):
            return Self.check(value, range, unit)
        case (.choice(let words), .text(let text)), (.choice(let words), .json(.string(let text))):
            return words.contains(text)
                ? .success(.text(text))
                : .failure(.init("must be one of \(words.joined(separator: ", ")), not \(Self.quoted(text))"))
        case (_, .json(let value)):
            return .failure(.init("must be \(expected), not \(value.kindName)"))
        }
    }

    /// What a value of this kind looks like, for messages.
    var expected: String {
        switch self {
        case .text, .path: "a string"
        case .optionalPath, .optionalText: "a string or null"
        case .boolean: "true or false"
        case .integer(_, let unit): "a whole number" + Self.of(unit)
        case .number(_, let unit): "a number" + Self.of(unit)
        case .choice(let words): "one of \(words.joined(separator: ", "))"
        }
    }

    private static func check(_ value: Int, _ range: ClosedRange<Int>, _ unit: String) -> Result<SettingValue, SettingProblem> {
        range.contains(value)
            ? .success(.integer(value))
            : .failure(.init("must be \(range.lowerBound) to \(range.upperBound)\(Self.in(unit)), not \(value)"))
    }

    private static func check(_ value: Double, _ range: ClosedRange<Double>, _ unit: String) -> Result<SettingValue, SettingProblem> {
        guard value.isFinite else { return .failure(.init("must be a finite number" + Self.of(unit) + ", not \(value)")) }
        return range.contains(value)
            ? .success(.number(value))
            : .failure(.init("must be \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))\(Self.in(unit)), not \(Self.format(value))"))
    }

    private static func of(_ unit: String) -> String { unit.isEmpty ? "" : " of \(unit)" }
    private static func `in`(_ unit: String) -> String { unit.isEmpty ? "" : " \(unit)" }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e12 ? String(Int64(value)) : "\(value)"
    }

    static func quoted(_ text: String) -> String {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "\"" + shown.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : String($0) }.joined() + "\""
    }
}

/// A parsed setting.
enum SettingValue: Equatable {
    case none
    case text(String)
    case boolean(Bool)
    case integer(Int)
    case number(Double)

    var description: String {
        switch self {
        case .none: "(none)"
        case .text(let text): text
        case .boolean(let value): "\(value)"
        case .integer(let value): "\(value)"
        case .number(let value): SettingKind.format(value)
        }
    }
}

struct SettingProblem: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A JSON value with its JSON type kept: `true` is not a number and `1` is not a boolean.
enum JSONValue: Decodable {
    case null
    case boolean(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array
    case object

    init(from decoder: any Decoder) throws {
        if let container = try? decoder.singleValueContainer() {
            if container.decodeNil() { self = .null; return }
            if let value = try? container.decode(Bool.self) { self = .boolean(value); return }
            if let value = try? container.decode(Int.self) { self = .integer(value); return }
            if let value = try? container.decode(Double.self) { self = .number(value); return }
            if let value = try? container.decode(String.self) { self = .string(value); return }
        }
        if (try? decoder.unkeyedContainer()) != nil { self = .array; return }
        self = .object
    }

    var kindName: String {
        switch self {
        case .null: "null"
        case .boolean(let value): "the boolean \(value)"
        case .integer(let value): "the number \(value)"
        case .number(let value): "the number \(value)"
        case .string(let text): "the string \(SettingKind.quoted(text))"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
