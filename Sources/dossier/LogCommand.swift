import ArgumentParser
import DossierClient
import Foundation

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "The record's access log: who did what, when (patient, delegate).")

    @OptionGroup var connection: ConnectionOptions
    @Argument var patientID: String
    @Option(help: "Only entries by this actor id.") var actor: String?
    @Flag(help: "Only denied attempts.") var denied = false
    @Flag(help: "Only emergency accesses.") var emergency = false
    @Option(help: "At most this many entries (newest first).") var limit = 50

    func run() async throws {
        let entries = try await connection.withClient { client in
            var entries: [Dossier_V1_AccessLogEntry] = []
            var token = ""
            repeat {
                let page = try await client.accessLog.listAccessLog(.with {
                    $0.patientID = patientID
                    $0.actorID = actor ?? ""
                    if denied { $0.outcomes = [.denied] }
                    $0.emergencyOnly = emergency
                    $0.pageSize = UInt32(min(limit - entries.count, 500))
                    $0.pageToken = token
                }, options: connection.callOptions)
                entries += page.entries
                token = page.nextPageToken
            } while !token.isEmpty && entries.count < limit
            return entries
        }
        if connection.json {
            return try Output.json(Dossier_V1_ListAccessLogResponse.with { $0.entries = entries })
        }
        let formatter = ISO8601DateFormatter()
        for entry in entries {
            let who = [entry.actor.displayName, entry.actor.id, entry.actor.profession].filter { !$0.isEmpty }.joined(separator: " · ")
            let flag = entry.emergency ? " EMERGENCY" : ""
            let reason = entry.reason.isEmpty ? "" : " (\(entry.reason))"
            print("\(entry.sequence)\t\(formatter.string(from: entry.time.date))\t\(entry.operation)\t\(entry.outcome)\(reason)\(flag)\t\(who)")
        }
    }
}
