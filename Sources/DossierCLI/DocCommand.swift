import ArgumentParser
import DossierClient
import DossierCore
import Foundation
import SwiftProtobuf

struct DocCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doc", abstract: "Documents: deposit, find, get, download, replace, deprecate, mask, hide, overview.",
        subcommands: [
            Deposit.self, Find.self, Get.self, Download.self, Replace.self, Deprecate.self, Mask.self, Unmask.self,
            Hide.self, Release.self, Overview.self, Upload.self,
        ])

    /// The metadata options of a new document.
    struct Metadata: ParsableArguments {
        @Option(help: "Title.") var title: String
        @Option(name: .customLong("class"), help: "Document class.")
        var documentClass: Dossier_V1_DocumentClass
        @Option(help: "Type code SYSTEM|CODE, e.g. http://loinc.org|11502-2.") var type: String
        @Option(help: "Media type (default: from the file name).") var mime: String?
        @Option(help: "Clinical creation date, ISO 8601 (default: now).") var created: String?
        @Option(help: "Confidentiality level.") var confidentiality: Dossier_V1_ConfidentialityLevel = .normal
        @Option(name: .customLong("category"), help: "Sensitive category (repeatable).")
        var categories: [Dossier_V1_SensitiveCategory] = []
        @Flag(help: "Hidden from the patient until released.") var hidden = false
        @Option(help: "Your unique id for this document (default: from the content's SHA-256, so a retry is idempotent).")
        var clientID: String?

        func submission(file: String, sha256: [UInt8]) throws -> Dossier_V1_DocumentSubmission {
            let parts = type.split(separator: "|", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--type must be SYSTEM|CODE") }
            var date = Date()
            if let created {
                guard let parsed = ISO8601DateFormatter().date(from: created) ?? Self.day.date(from: created) else {
                    throw ValidationError("--created must be an ISO 8601 date, e.g. 2026-11-27 or 2026-11-27T10:00:00Z")
                }
                date = parsed
            }
            return .with {
                $0.clientUniqueID = clientID ?? "cli-" + sha256.prefix(16).hex
                $0.title = title
                $0.documentClass = documentClass
                $0.sensitiveCategories = categories
                $0.typeCode = .with {
                    $0.system = parts[0]
                    $0.code = parts[1]
                }
                $0.mimeType = mime ?? Self.mediaType(of: file)
                $0.createdAt = Google_Protobuf_Timestamp(date: date)
                $0.confidentiality = confidentiality
                $0.hiddenFromPatient = hidden
            }
        }

        static let day: DateFormatter = {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            return formatter
        }()

        static func mediaType(of file: String) -> String {
            switch URL(fileURLWithPath: file).pathExtension.lowercased() {
            case "pdf": "application/pdf"
            case "dcm": "application/dicom"
            case "xml": "text/xml"
            case "json": "application/json"
            case "txt": "text/plain"
            case "jpg", "jpeg": "image/jpeg"
            case "png": "image/png"
            default: "application/octet-stream"
            }
        }
    }

    struct Deposit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deposit a file (in one call up to 3 MiB, larger files through a resumable upload with a progress bar).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The file to deposit.") var file: String
        @OptionGroup var metadata: Metadata

        func run() async throws {
            let source = try Transfer.Source(path: file)
            let submission = try metadata.submission(file: file, sha256: source.sha256)
            let document = try await connection.withClient { client in
                try await Transfer.store(
                    client, patientID: patientID, submission: submission, source: source, replaces: nil,
                    options: connection.callOptions)
            }
            connection.json ? try Output.json(document) : DocumentTable.show(document)
        }
    }

    struct Replace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deposit a new version of a document (author or referring physician).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document to replace.") var documentID: String
        @Argument(help: "The new version's file.") var file: String
        @OptionGroup var metadata: Metadata

        func run() async throws {
            let source = try Transfer.Source(path: file)
            let submission = try metadata.submission(file: file, sha256: source.sha256)
            let document = try await connection.withClient { client in
                try await Transfer.store(
                    client, patientID: patientID, submission: submission, source: source,
                    replaces: documentID, options: connection.callOptions)
            }
            connection.json ? try Output.json(document) : DocumentTable.show(document)
        }
    }

    struct Find: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find the documents of a record you may see.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Option(name: .customLong("class"), help: "Document class (repeatable).") var classes: [Dossier_V1_DocumentClass] = []
        @Option(help: "Author id (repeatable).") var author: [String] = []
        @Option(help: "Created on or after this ISO 8601 date.") var from: String?
        @Option(help: "Created before this ISO 8601 date.") var to: String?
        @Flag(help: "Include deprecated documents.") var deprecated = false
        @Flag(help: "Oldest first.") var oldestFirst = false
        @Option(help: "At most this many documents, 1 or more (default: all; the rest is announced with its page token).") var limit: Int?
        @Option(help: "Start from this page token (printed when --limit stopped a list).") var pageToken = ""

        @Option(help: "Documents asked for per call, 1 to 500 (the list is read to its end or --limit anyway).") var pageSize = Pages.pageSize

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
            guard (1...Pages.pageSize).contains(pageSize) else { throw ValidationError("--page-size must be 1 to \(Pages.pageSize)") }
        }

        func run() async throws {
            let request = try Dossier_V1_FindDocumentsRequest.with {
                $0.patientID = patientID
                $0.documentClasses = classes
                $0.authorIds = author
                if let from { $0.createdFrom = Google_Protobuf_Timestamp(date: try Self.date(from)) }
                if let to { $0.createdTo = Google_Protobuf_Timestamp(date: try Self.date(to)) }
                if deprecated { $0.statuses = [.current, .deprecated] }
                $0.oldestFirst = oldestFirst
            }
            let (documents, next) = try await connection.withClient { client in
                try await Pages.collect(limit: limit, startingAt: pageToken, pageSize: pageSize) { token, size in
                    var page = request
                    page.pageSize = size
                    page.pageToken = token
                    let response = try await client.documents.findDocuments(page, options: connection.callOptions)
                    return (response.documents, response.nextPageToken)
                }
            }
            let response = Dossier_V1_FindDocumentsResponse.with {
                $0.documents = documents
                $0.nextPageToken = next
            }
            if connection.json { return try Output.json(response) }
            DocumentTable.list(documents)
            if !next.isEmpty { print("more: --page-token \(next)") }
        }

        static func date(_ text: String) throws -> Date {
            guard let date = ISO8601DateFormatter().date(from: text) ?? Metadata.day.date(from: text) else {
                throw ValidationError("not an ISO 8601 date: \(text)")
            }
            return date
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a document's metadata.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.documents.getDocument(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                }, options: connection.callOptions)
            }
            connection.json ? try Output.json(response) : DocumentTable.show(response.document)
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a document's content in 1 MiB ranges and check its SHA-256 (exit 2 on a mismatch).",
            discussion: "The file is written as OUTPUT.part and renamed to OUTPUT once its SHA-256 is verified; with -o - the content goes to standard output as it comes (and the summary to standard error).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String
        @Option(name: .shortAndLong, help: "Output file, or - for standard output.") var output: String

        func run() async throws {
            let toStdout = output == "-"
            let partial = output + ".part"
            let sink: FileHandle
            if toStdout {
                sink = FileHandle.standardOutput
            } else {
                guard FileManager.default.createFile(atPath: partial, contents: nil) else {
                    throw CLIFailure.usage("\(partial): cannot create the file")
                }
                sink = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
            }
            let fetched: (size: UInt64, sha256: Data)
            do {
                fetched = try await connection.withClient { client in
                    try await Transfer.fetch(
                        client, patientID: patientID, documentID: documentID, to: sink, sinkName: toStdout ? "standard output" : partial,
                        options: connection.callOptions)
                }
                if !toStdout {
                    try sink.close()
                    if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
                    try FileManager.default.moveItem(atPath: partial, toPath: output)
                }
            } catch {
                if !toStdout {
                    try? sink.close()
                    try? FileManager.default.removeItem(atPath: partial)
                }
                throw error
            }
            let hex = fetched.sha256.hex
            let summary = connection.json
                ? Output.jsonText(["document_id": documentID, "size_bytes": "\(fetched.size)", "sha256": hex, "output": output])
                : "\(fetched.size) bytes written to \(toStdout ? "standard output" : output), SHA-256 verified"
            if toStdout {
                FileHandle.standardError.write(Data((summary + "\n").utf8))
            } else {
                print(summary)
            }
        }
    }

    struct Deprecate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a document deprecated, with a reason (author or referring physician).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String
        @Option(help: "Why, e.g. \"entered in error\".") var reason: String
        @Flag(help: "Confirm: a deprecation cannot be undone.") var yes = false

        func validate() throws {
            guard yes else { throw ValidationError("a deprecation cannot be undone: add --yes to confirm") }
        }

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.documents.deprecateDocument(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                    $0.reason = reason
                }, options: connection.callOptions)
            }
            connection.json ? try Output.json(response) : DocumentTable.show(response.document)
        }
    }

    struct Mask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mask a document (patient or delegate): only you, your delegate and its author see it.",
            discussion: "Same as --level secret; --level normal or restricted sets another level.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String
        @Option(help: "The level to set.") var level: Dossier_V1_ConfidentialityLevel = .secret

        func run() async throws {
            try await DocCommand.setLevel(connection, patientID, documentID, level)
        }
    }

    struct Unmask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a masked document back the level its author chose.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String

        func run() async throws {
            let document = try await connection.withClient { client in
                try await client.documents.getDocument(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                }, options: connection.callOptions).document
            }
            try await DocCommand.setLevel(connection, patientID, documentID, document.authorConfidentiality)
        }
    }

    static func setLevel(_ connection: ConnectionOptions, _ patientID: String, _ documentID: String, _ level: Dossier_V1_ConfidentialityLevel) async throws {
        let response = try await connection.withClient { client in
            try await client.documents.setDocumentConfidentiality(.with {
                $0.patientID = patientID
                $0.documentID = documentID
                $0.confidentiality = level
            }, options: connection.callOptions)
        }
        connection.json ? try Output.json(response) : DocumentTable.show(response.document)
    }

    struct Hide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hide a document you wrote from the patient until you release it.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String

        func run() async throws { try await DocCommand.setHidden(true, connection, patientID, documentID) }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a hidden document to the patient (who is notified).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document.") var documentID: String

        func run() async throws { try await DocCommand.setHidden(false, connection, patientID, documentID) }
    }

    static func setHidden(_ hidden: Bool, _ connection: ConnectionOptions, _ patientID: String, _ documentID: String) async throws {
        let document = try await connection.withClient { client in
            hidden
                ? try await client.documents.hideDocumentFromPatient(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                }, options: connection.callOptions).document
                : try await client.documents.releaseDocumentToPatient(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                }, options: connection.callOptions).document
        }
        connection.json ? try Output.json(document) : DocumentTable.show(document)
    }

    struct Overview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts per class and a timeline of what you may see.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Flag(help: "Include deprecated documents.") var deprecated = false
        @Option(help: "Timeline entries (the latest ones), 1 to 500.") var pageSize = 20

        func validate() throws {
            guard (1...500).contains(pageSize) else { throw ValidationError("--page-size must be 1 to 500") }
        }

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.documents.getRecordOverview(.with {
                    $0.patientID = patientID
                    $0.includeDeprecated = deprecated
                    $0.pageSize = UInt32(pageSize)
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.table([("documents", "\(response.visibleDocuments)"), ("personal space", "\(response.patientSpaceDocuments)")])
            Output.columns(
                ["CLASS", "DOCUMENTS", "LATEST"],
                response.classCounts.map {
                    [Vocabulary.name($0.documentClass), "\($0.documentCount)",
                     String(Output.timestamp($0.latestCreatedAt, isSet: $0.hasLatestCreatedAt).prefix(10))]
                })
            print("")
            DocumentTable.list(response.timeline)
        }
    }
}
