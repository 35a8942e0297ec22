/// The insured person's identifier, which is also the key of their record.
///
/// 1 to 64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit. The restricted
/// alphabet keeps identifiers safe as storage-key prefixes (no 0x00 or 0x01 byte can occur).
public struct PatientID: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Returns nil when `rawValue` is not a valid identifier.
    public init?(rawValue: String) {
        guard Identifier.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Validates `text` or throws INVALID_ARGUMENT naming `field`.
    public init(validating text: String, field: String = "patient_id") throws {
        guard !text.isEmpty else { throw DossierError.missingField(field) }
        guard let id = PatientID(rawValue: text) else {
            throw DossierError(
                .invalidArgument, "\(field) must be 1 to 64 characters of [A-Za-z0-9._-], starting with a letter or digit",
                reason: "INVALID_PATIENT_ID", field: field)
        }
        self = id
    }

    public static func < (lhs: PatientID, rhs: PatientID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Identifiers are personal data: the description never shows them (logs, error texts).
    public var description: String { "PatientID(redacted)" }
}

/// The identifier syntax shared by patients, professionals, organisations and operators.
public enum Identifier {
    public static let maxLength = 64

    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= maxLength, isAlphanumeric(first) else {
            return false
        }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
