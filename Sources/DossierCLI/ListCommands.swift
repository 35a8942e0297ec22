import ArgumentParser
import DossierClient
import Foundation

/// Lists of a record's access settings, and upload sessions by id.
extension AccessCommand {
    struct Blocks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The professionals the patient blocked (patient, delegate).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let blocks = try await connection.withClient { client in
                try await Pages.collect { token, size in
                    let page = try await client.access.listBlocks(.with {
                        $0.patientID = patientID
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.blocks, page.nextPageToken)
                }.items
            }
            if connection.json { return try Output.json(Dossier_V1_ListBlocksResponse.with { $0.blocks = blocks }) }
            Output.columns(
                ["PROFESSIONAL", "BLOCKED", "LABEL"],
                blocks.map { [$0.professionalID, Output.timestamp($0.blockedAt, isSet: $0.hasBlockedAt), $0.label] })
        }
    }

    struct Delegates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The record's active delegates (patient, delegate).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let delegations = try await connection.withClient { client in
                try await Pages.collect { token, size in
                    let page = try await client.access.listDelegates(.with {
                        $0.patientID = patientID
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.delegations, page.nextPageToken)
                }.items
            }
            if connection.json { return try Output.json(Dossier_V1_ListDelegatesResponse.with { $0.delegations = delegations }) }
            DelegationTable.show(delegations)
        }
    }

    struct MyDelegations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "my-delegations", abstract: "The records on which you (a patient certificate) are a delegate.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let delegations = try await connection.withClient { client in
                try await Pages.collect { token, size in
                    let page = try await client.access.listMyDelegations(.with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.delegations, page.nextPageToken)
                }.items
            }
            if connection.json { return try Output.json(Dossier_V1_ListMyDelegationsResponse.with { $0.delegations = delegations }) }
            DelegationTable.show(delegations)
        }
    }
}

enum DelegationTable {
    static func show(_ delegations: [Dossier_V1_Delegation]) {
        Output.columns(
            ["PATIENT", "DELEGATE", "NAMED", "EXPIRES", "LABEL"],
            delegations.map {
                [$0.patientID, $0.delegateID, Output.timestamp($0.namedAt, isSet: $0.hasNamedAt),
                 Output.timestamp($0.expiresAt, isSet: $0.hasExpiresAt), $0.label]
            })
    }
}

extension DocCommand {
    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An upload session you opened: its state, or abort it (its received chunks are deleted).",
            subcommands: [Status.self, Abort.self])

        struct Status: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "State and bytes received so far (where to resume).")
            @OptionGroup var connection: ConnectionOptions
            @Argument(help: "The upload id.") var uploadID: String

            func run() async throws {
                let response = try await connection.withClient { client in
                    try await client.documents.getUpload(.with { $0.uploadID = uploadID }, options: connection.callOptions)
                }
                if connection.json { return try Output.json(response) }
                let upload = response.upload
                Output.table([
                    ("upload", upload.uploadID), ("state", Vocabulary.name(upload.state)), ("declared bytes", "\(upload.declaredSize)"),
                    ("received bytes", "\(upload.committedSize)"),
                ])
            }
        }

        struct Abort: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Abort the session; nothing of it is kept.")
            @OptionGroup var connection: ConnectionOptions
            @Argument(help: "The upload id.") var uploadID: String

            func run() async throws {
                let response = try await connection.withClient { client in
                    try await client.documents.abortUpload(.with { $0.uploadID = uploadID }, options: connection.callOptions)
                }
                connection.json ? try Output.json(response) : print("aborted")
            }
        }
    }
}
