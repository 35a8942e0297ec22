import ArgumentParser
import DossierClient
import Foundation

/// How documents look on the terminal.
enum DocumentTable {
    static let classNames: [(String, Dossier_V1_DocumentClass)] = [
        ("report", .report), ("summary", .summary), ("imaging", .imaging), ("prescription", .prescription),
        ("dispensation", .dispensation), ("care-plan", .carePlan), ("administered-treatment", .administeredTreatment),
        ("lab-result", .labResult), ("certificate", .certificate), ("patient-provided", .patientProvided),
        ("administrative", .administrative),
    ]

    static let categoryNames: [(String, Dossier_V1_SensitiveCategory)] = [
        ("psychiatry", .psychiatry), ("sexual-health", .sexualHealth), ("genetics", .genetics), ("addiction", .addiction),
        ("reproductive-health", .reproductiveHealth),
    ]

    static let levelNames: [(String, Dossier_V1_ConfidentialityLevel)] = [
        ("normal", .normal), ("restricted", .restricted), ("secret", .secret),
    ]

    static func name<T: Equatable>(_ value: T, in table: [(String, T)]) -> String {
        table.first { $0.1 == value }?.0 ?? "\(value)"
    }

    static func parse<T>(_ text: String, in table: [(String, T)], what: String) throws -> T {
        guard let match = table.first(where: { $0.0 == text.lowercased() }) else {
            throw ValidationError("unknown \(what) \(text); one of: \(table.map(\.0).joined(separator: ", "))")
        }
        return match.1
    }

    /// All fields of one document.
    static func show(_ document: Dossier_V1_Document) {
        Output.table([
            ("document", document.documentID),
            ("title", document.title),
            ("class", name(document.documentClass, in: classNames)),
            ("categories", document.sensitiveCategories.map { name($0, in: categoryNames) }.joined(separator: ", ")),
            ("type", "\(document.typeCode.system)|\(document.typeCode.code)"),
            ("mime type", document.mimeType),
            ("status", document.status == .current ? "current" : "deprecated"),
            ("deprecation", document.deprecationReason),
            ("replaces", document.replacesDocumentID),
            ("replaced by", document.replacedByDocumentID),
            ("confidentiality", name(document.confidentiality, in: levelNames)),
            ("set by author", name(document.authorConfidentiality, in: levelNames)),
            ("hidden from patient", document.hiddenFromPatient ? "yes" : ""),
            ("personal space", document.patientSpace ? "yes" : ""),
            ("author", "\(document.author.displayName) (\(document.author.id))"),
            ("created", Output.timestamp(document.createdAt, isSet: document.hasCreatedAt)),
            ("deposited", Output.timestamp(document.depositedAt, isSet: document.hasDepositedAt)),
            ("size", "\(document.sizeBytes) bytes"),
            ("sha256", document.sha256.map { String(format: "%02x", $0) }.joined()),
        ])
    }

    /// One line per document.
    static func list(_ documents: [Dossier_V1_Document]) {
        let rows = documents.map { document in
            [
                document.documentID, String(Output.timestamp(document.createdAt, isSet: document.hasCreatedAt).prefix(10)),
                name(document.documentClass, in: classNames), name(document.confidentiality, in: levelNames),
                document.status == .current ? "" : "deprecated", document.author.id, document.title,
            ]
        }
        Output.columns(["DOCUMENT", "CREATED", "CLASS", "LEVEL", "STATUS", "AUTHOR", "TITLE"], rows)
    }
}
