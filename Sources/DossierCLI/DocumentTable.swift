import ArgumentParser
import DossierClient
import DossierCore
import Foundation

/// How documents look on the terminal.
enum DocumentTable {
    /// All fields of one document.
    static func show(_ document: Dossier_V1_Document) {
        Output.table([
            ("document", document.documentID),
            ("title", document.title),
            ("class", Vocabulary.name(document.documentClass)),
            ("categories", document.sensitiveCategories.map { Vocabulary.name($0) }.joined(separator: ", ")),
            ("type", "\(document.typeCode.system)|\(document.typeCode.code)"),
            ("mime type", document.mimeType),
            ("status", Vocabulary.name(document.status)),
            ("deprecation", document.deprecationReason),
            ("replaces", document.replacesDocumentID),
            ("replaced by", document.replacedByDocumentID),
            ("confidentiality", Vocabulary.name(document.confidentiality)),
            ("set by author", Vocabulary.name(document.authorConfidentiality)),
            ("hidden from patient", document.hiddenFromPatient ? "yes" : ""),
            ("personal space", document.patientSpace ? "yes" : ""),
            ("author", "\(document.author.displayName) (\(document.author.id))"),
            ("created", Output.timestamp(document.createdAt, isSet: document.hasCreatedAt)),
            ("deposited", Output.timestamp(document.depositedAt, isSet: document.hasDepositedAt)),
            ("size", "\(document.sizeBytes) bytes"),
            ("sha256", document.sha256.hex),
        ])
    }

    /// One line per document.
    static func list(_ documents: [Dossier_V1_Document]) {
        let rows = documents.map { document in
            [
                document.documentID, String(Output.timestamp(document.createdAt, isSet: document.hasCreatedAt).prefix(10)),
                Vocabulary.name(document.documentClass), Vocabulary.name(document.confidentiality),
                document.status == .current ? "" : Vocabulary.name(document.status), document.author.id, document.title,
            ]
        }
        Output.columns(["DOCUMENT", "CREATED", "CLASS", "LEVEL", "STATUS", "AUTHOR", "TITLE"], rows)
    }
}
