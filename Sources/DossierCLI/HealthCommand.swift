import ArgumentParser
import DossierClient

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Ask whether the server serves calls (exit 1 when not serving).")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let response = try await connection.withClient { client in
            try await client.health.check(.init(), options: connection.callOptions)
        }
        if connection.json {
            try Output.json(response)
        } else {
            Output.table([
                ("status", response.status == .serving ? "SERVING" : "NOT_SERVING"),
                ("version", response.version),
                ("server time", Output.timestamp(response.serverTime, isSet: response.hasServerTime)),
                ("reasons", response.reasons.joined(separator: ", ")),
            ])
        }
        if response.status != .serving {
            throw ExitCode(1)
        }
    }
}
