import ArgumentParser
import DossierClient
import Foundation

@main
struct Dossier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier",
        abstract: "Command-line client of a Dossier shared-care-record server.",
        discussion: """
            Connection settings come from flags or the environment: DOSSIER_SERVER (host:port, \
            default 127.0.0.1:7443), DOSSIER_CERT, DOSSIER_KEY and DOSSIER_CA (PEM files).
            """,
        subcommands: [
            HealthCommand.self, RecordCommand.self, DocCommand.self, AccessCommand.self, LogCommand.self, NotificationsCommand.self,
            StatsCommand.self, AdminCommand.self, RectificationCommand.self,
        ]
    )
}
