import Crypto
import DossierCore
import Foundation
import Synchronization

/// The profession matrix as a JSON file (docs/ACCESS-MATRIX.md; the shipped default is
/// docs/access-matrix.default.json):
///
/// ```json
/// {"rows": [{"kind": "professional", "profession": "pharmacist",
///            "document_classes": ["prescription", "lab_result"], "sensitive_categories": [],
///            "may_use_emergency_access": false}]}
/// ```
public struct AccessMatrixFile: Sendable {
    public let matrix: AccessMatrix
    /// The file it came from; empty for the shipped default.
    public let source: String
    public let loadedAt: Date
    /// SHA-256 of the file's bytes (of the default's JSON for the default), lower-case hex.
    public let sha256: String

    struct Row: Codable {
        var kind: String
        var profession: String?
        var document_classes: [String]
        var sensitive_categories: [String]?
        var may_use_emergency_access: Bool?
    }

    struct Contents: Codable {
        var rows: [Row]
    }

    static let classNames: [(String, DocumentClass)] = [
        ("report", .report), ("summary", .summary), ("imaging", .imaging), ("prescription", .prescription),
        ("dispensation", .dispensation), ("care_plan", .carePlan), ("administered_treatment", .administeredTreatment),
        ("lab_result", .labResult), ("certificate", .certificate), ("patient_provided", .patientProvided),
        ("administrative", .administrative),
    ]

    static let categoryNames: [(String, SensitiveCategory)] = [
        ("psychiatry", .psychiatry), ("sexual_health", .sexualHealth), ("genetics", .genetics), ("addiction", .addiction),
        ("reproductive_health", .reproductiveHealth),
    ]

    /// The shipped default.
    public static func shippedDefault() -> AccessMatrixFile {
        let bytes = encode(.default)
        return AccessMatrixFile(matrix: .default, source: "", loadedAt: Date(), sha256: hex(bytes))
    }

    /// Reads and checks a file; the error says what is wrong (for dossierd's start-up).
    public static func load(path: String) throws -> AccessMatrixFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ServerStartupError("cannot read the access matrix \(path): \(error.localizedDescription)")
        }
        return AccessMatrixFile(matrix: try decode(data, source: path), source: path, loadedAt: Date(), sha256: hex([UInt8](data)))
    }

    static func decode(_ data: Data, source: String) throws -> AccessMatrix {
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: data)
        } catch {
            throw ServerStartupError("the access matrix \(source) is not valid JSON of the documented shape: \(error)")
        }
        // The file's names are snake case (`care_plan`); the CLI's flags and tables spell the
        // same values in kebab case (`care-plan`): either is accepted.
        func lookup<T>(_ name: String, _ table: [(String, T)], _ what: String, _ row: Int) throws -> T {
            let spelled = name.replacingOccurrences(of: "-", with: "_")
            guard let match = table.first(where: { $0.0 == spelled }) else {
                throw ServerStartupError("access matrix \(source), row \(row + 1): unknown \(what) \"\(name)\"")
            }
            return match.1
        }
        let rows = try contents.rows.enumerated().map { index, row in
            guard let kind = PrincipalKind(rawValue: row.kind) else {
                throw ServerStartupError("access matrix \(source), row \(index + 1): kind must be professional or organisation")
            }
            return AccessMatrix.Row(
                kind: kind, profession: row.profession ?? "",
                documentClasses: Set(try row.document_classes.map { try lookup($0, classNames, "document class", index) }),
                sensitiveCategories: Set(try (row.sensitive_categories ?? []).map { try lookup($0, categoryNames, "sensitive category", index) }),
                mayUseEmergencyAccess: row.may_use_emergency_access ?? false)
        }
        do {
            return try AccessMatrix(rows: rows)
        } catch {
            throw ServerStartupError("access matrix \(source): \(error)")
        }
    }

    /// The JSON form of a matrix, rows and names in a stable order.
    public static func encode(_ matrix: AccessMatrix) -> [UInt8] {
        let rows = matrix.rows.map { row in
            Row(
                kind: row.kind.rawValue, profession: row.profession,
                document_classes: classNames.filter { row.documentClasses.contains($0.1) }.map(\.0),
                sensitive_categories: categoryNames.filter { row.sensitiveCategories.contains($0.1) }.map(\.0),
                may_use_emergency_access: row.mayUseEmergencyAccess)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8]((try? encoder.encode(Contents(rows: rows))) ?? Data()) + [0x0A]
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).hex
    }
}

/// The matrix in force, replaced whole by Admin.ReloadAccessMatrix: every call reads one
/// consistent matrix (the one in force when it started deciding).
public final class AccessMatrixInForce: Sendable {
    private let file: Mutex<AccessMatrixFile>

    public init(_ file: AccessMatrixFile) {
        self.file = Mutex(file)
    }

    public var current: AccessMatrixFile { file.withLock { $0 } }

    /// Reads the matrix again from the file it came from (the shipped default when none), checks
    /// it, and puts it in force; on error the one in force stays.
    public func reload() throws -> AccessMatrixFile {
        let source = current.source
        let next = source.isEmpty ? AccessMatrixFile.shippedDefault() : try AccessMatrixFile.load(path: source)
        file.withLock { $0 = next }
        return next
    }

    /// The professions whose row allows emergency access.
    public var emergencyProfessions: Set<String> {
        Set(current.matrix.rows.filter(\.mayUseEmergencyAccess).map(\.profession))
    }
}
