import ArgumentParser
import DossierClient
import Foundation

/// Rectification requests: the patient asks, the author or referring physician answers (by
/// `dossier doc replace`, which closes the request linked to the new version, or by declining).
struct RectificationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rectification",
        abstract: "Ask for a document to be corrected (patient, delegate); see and answer requests (author, referring physician).",
        discussion: """
            The author or the referring physician corrects a document with `dossier doc replace`: that closes every \
            open request about it, linked to the new version. `decline` answers with a reason instead.
            """,
        subcommands: [Request.self, List.self, Decline.self], defaultSubcommand: List.self, aliases: ["rectify"])
}

extension RectificationCommand {
    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for a document to be corrected (patient, delegate).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The document to correct.") var documentID: String
        @Option(help: "What is wrong and what it should say (1 to 2,000 characters).") var reason: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.rectification.requestRectification(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                    $0.reason = reason
                }, options: connection.callOptions)
            }
            connection.json ? try Output.json(response) : RectificationCommand.show(response.request)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The requests you may see, newest first (the patient: all; the author and referring physician: theirs).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Flag(help: "Only open requests.") var open = false
        @Option(help: "Only requests about this document.") var document: String?

        func run() async throws {
            let requests = try await connection.withClient { client in
                var all: [Dossier_V1_RectificationRequest] = []
                var token = ""
                repeat {
                    let page = try await client.rectification.listRectificationRequests(.with {
                        $0.patientID = patientID
                        $0.openOnly = open
                        $0.documentID = document ?? ""
                        $0.pageSize = 100
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    all += page.requests
                    token = page.nextPageToken
                } while !token.isEmpty
                return all
            }
            if connection.json { return try Output.json(Dossier_V1_ListRectificationRequestsResponse.with { $0.requests = requests }) }
            Output.columns(
                ["REQUEST", "DOCUMENT", "REQUESTED", "STATUS", "NEW VERSION", "REASON"],
                requests.map {
                    [$0.rectificationRequestID, $0.documentID, Output.timestamp($0.requestedAt, isSet: $0.hasRequestedAt),
                     RectificationCommand.status($0.status), $0.replacementDocumentID, $0.reason]
                })
        }
    }

    struct Decline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decline an open request, with a reason for the patient (author, referring physician).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's identifier.") var patientID: String
        @Argument(help: "The request (r-…).") var requestID: String
        @Option(help: "Why the document stays as it is (1 to 2,000 characters).") var reason: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.rectification.declineRectification(.with {
                    $0.patientID = patientID
                    $0.rectificationRequestID = requestID
                    $0.reason = reason
                }, options: connection.callOptions)
            }
            connection.json ? try Output.json(response) : RectificationCommand.show(response.request)
        }
    }

    static func status(_ status: Dossier_V1_RectificationStatus) -> String { Vocabulary.name(status) }

    static func show(_ request: Dossier_V1_RectificationRequest) {
        Output.table([
            ("request", request.rectificationRequestID), ("document", request.documentID),
            ("requested by", request.requestedBy.id), ("requested at", Output.timestamp(request.requestedAt, isSet: request.hasRequestedAt)),
            ("reason", request.reason), ("status", status(request.status)), ("answered by", request.answeredBy.id),
            ("answered at", Output.timestamp(request.answeredAt, isSet: request.hasAnsweredAt)), ("answer", request.answer),
            ("new version", request.replacementDocumentID),
        ])
    }
}
