import ArgumentParser
import DossierClient
import Foundation

/// The `dossier` command. Runs as its own executable (Sources/dossier), and inside `dossierd`
/// when that binary is invoked under the name `dossier` (the container image ships one
/// binary and a link: DossierCLI.main).
struct Dossier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier",
        abstract: "Command-line client of a Dossier shared-care-record server.",
        discussion: """
            Connection settings come from flags or the environment: DOSSIER_SERVER (host:port, \
            default 127.0.0.1:7443), DOSSIER_CERT, DOSSIER_KEY and DOSSIER_CA (PEM files).
            Exit codes: 0 success, 1 refused by the server, 2 integrity failure (SHA-256 mismatch, \
            a log that does not verify), 3 connection or TLS failure, 64 usage error.
            """,
        version: DossierVersion.current,
        subcommands: [
            HealthCommand.self, RecordCommand.self, DocCommand.self, AccessCommand.self, LogCommand.self, NotificationsCommand.self,
            StatsCommand.self, AdminCommand.self, RectificationCommand.self,
        ]
    )
}

/// The entry point of the `dossier` command, for the executables that carry it.
public enum DossierCLI {
    public static func main() async {
        await Dossier.main()
    }
}
