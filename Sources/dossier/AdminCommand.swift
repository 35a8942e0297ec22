import ArgumentParser
import DossierClient
import Foundation

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operators: backups, purge, the access matrix.",
        subcommands: [Backup.self, Backups.self, Purge.self, Matrix.self])

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take an online backup into NAME under the server's backup directory (docs/OPERATIONS.md: restore).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Directory name, [A-Za-z0-9._-].") var name: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.admin.createBackup(.with { $0.name = name }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            AdminCommand.show([response.backup])
        }
    }

    struct Backups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups, newest first.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.admin.listBackups(.with { $0.pageSize = 500 }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            AdminCommand.show(response.backups)
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Purge now the closed records past their retention and those whose patient asked for deletion (irreversible).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Only count what is due.") var dryRun = false

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.admin.runPurge(.with { $0.dryRun = dryRun }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.table([
                ("purged", "\(response.purged)"), ("remaining due", "\(response.remainingDue)"),
                ("next due", Output.timestamp(response.nextDueAt, isSet: response.hasNextDueAt)),
            ])
        }
    }

    struct Matrix: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the profession × document-class matrix in force.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.admin.getAccessMatrix(.init(), options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            let matrix = response.matrix
            Output.table([("source", matrix.source.isEmpty ? "shipped default" : matrix.source), ("sha256", matrix.sha256)])
            Output.columns(
                ["KIND", "PROFESSION", "EMERGENCY", "CLASSES", "CATEGORIES"],
                matrix.rows.map { row in
                    ["\(row.principalKind)", row.profession, row.mayUseEmergencyAccess ? "yes" : "",
                     row.documentClasses.map { DocumentTable.name($0, in: DocumentTable.classNames) }.joined(separator: ","),
                     row.sensitiveCategories.map { DocumentTable.name($0, in: DocumentTable.categoryNames) }.joined(separator: ",")]
                })
        }
    }

    static func show(_ backups: [Dossier_V1_BackupInfo]) {
        Output.columns(
            ["NAME", "CREATED", "SIZE", "SEQUENCE"],
            backups.map {
                [$0.name, Output.timestamp($0.createdAt, isSet: $0.hasCreatedAt), "\($0.sizeBytes >> 20) MiB", "\($0.storageSequence)"]
            })
    }
}
