import ArgumentParser
import DossierClient
import Foundation

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operators: server info, backups, purge, master-key rotation, the access matrix, certificate revocation.",
        subcommands: [
            Info.self, Backup.self, Backups.self, Purge.self, RotateKey.self, Matrix.self, MatrixReload.self, Revoke.self,
            Revoked.self, CRL.self,
        ])

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
            let backups = try await connection.withClient { client in
                try await Pages.collect { token, size in
                    let page = try await client.admin.listBackups(.with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.backups, page.nextPageToken)
                }.items
            }
            if connection.json { return try Output.json(Dossier_V1_ListBackupsResponse.with { $0.backups = backups }) }
            AdminCommand.show(backups)
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Purge now the closed records past their retention and those whose patient asked for deletion (irreversible).")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Only count what is due.") var dryRun = false
        @Flag(help: "Confirm: purged records cannot be recovered, backups included.") var yes = false

        func validate() throws {
            guard dryRun || yes else { throw ValidationError("purging is irreversible: add --yes (or --dry-run to count)") }
        }

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
                    [Vocabulary.name(row.principalKind), row.profession, row.mayUseEmergencyAccess ? "yes" : "",
                     row.documentClasses.map { Vocabulary.name($0) }.joined(separator: ","),
                     row.sensitiveCategories.map { Vocabulary.name($0) }.joined(separator: ",")]
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

extension AdminCommand {
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a client certificate by serial: every call with it is refused at once (operators).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Serial number, hex (as `openssl x509 -noout -serial` prints it; ':' allowed).") var serial: String
        @Option(help: "Why the certificate is revoked.")
        var reason: Dossier_V1_RevocationReason?
        @Option(help: "Your note (ticket number…), at most 200 characters.") var note = ""
        @Flag(help: "Confirm: a revocation cannot be undone (the holder needs a new certificate).") var yes = false

        func validate() throws {
            guard yes else { throw ValidationError("a revocation cannot be undone: add --yes to confirm") }
        }

        func run() async throws {
            let code = reason ?? .unspecified
            let response = try await connection.withClient { client in
                try await client.admin.revokeCertificate(.with {
                    $0.serial = serial
                    $0.reason = code
                    $0.note = note
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.table([
                ("serial", response.revoked.serial), ("revoked at", Output.timestamp(response.revoked.revokedAt, isSet: true)),
                ("by", response.revoked.revokedBy.id), ("note", response.revoked.note),
                ("", response.newlyRevoked ? "" : "(was already revoked)"),
            ])
        }
    }
}
