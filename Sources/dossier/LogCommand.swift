import ArgumentParser
import DossierClient
import Foundation

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "The record's access log: list it, keep a signed checkpoint, verify it.",
        subcommands: [List.self, Checkpoint.self, Verify.self], defaultSubcommand: List.self)
}

extension LogCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who did what, when (patient, delegate); newest first.")

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
}

extension LogCommand {
    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Get a checkpoint of the log signed by the server, and keep it (patient, delegate).",
            discussion: "Keep the file: `dossier log verify --checkpoint FILE` later proves that nothing before it was removed or changed.")
        @OptionGroup var connection: ConnectionOptions
        @Argument var patientID: String
        @Option(help: "Write the checkpoint to this file (JSON).") var save: String?

        func run() async throws {
            let checkpoint = try await connection.withClient { client in
                try await client.accessLog.getLogCheckpoint(.with { $0.patientID = patientID }, options: connection.callOptions).checkpoint
            }
            if let save {
                try Data(try checkpoint.jsonUTF8Data()).write(to: URL(fileURLWithPath: save))
            }
            if connection.json { return try Output.json(checkpoint) }
            LogCommand.show(checkpoint)
            if let save { print("saved to \(save)") }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the log's hash chain on the server, optionally against a checkpoint you kept (patient, delegate, operator).")
        @OptionGroup var connection: ConnectionOptions
        @Argument var patientID: String
        @Option(help: "A checkpoint file saved by `dossier log checkpoint --save`.") var checkpoint: String?

        func run() async throws {
            let trusted = try checkpoint.map { try Dossier_V1_LogCheckpoint(jsonUTF8Data: try Data(contentsOf: URL(fileURLWithPath: $0))) }
            let response = try await connection.withClient { client in
                try await client.accessLog.verifyAccessLog(.with {
                    $0.patientID = patientID
                    if let trusted { $0.trustedCheckpoint = trusted }
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            if response.result == .verified {
                print("VERIFIED: \(response.entriesVerified) entries" + (trusted.map { ", extending the checkpoint at entry \($0.sequence)" } ?? ""))
                LogCommand.show(response.checkpoint)
            } else {
                print("FAILED at entry \(response.firstBadSequence): \(response.failure) — \(response.failureDetail)")
                throw ExitCode(1)
            }
        }
    }

    static func show(_ checkpoint: Dossier_V1_LogCheckpoint) {
        Output.table([
            ("entries", "\(checkpoint.sequence)"),
            ("head hash", checkpoint.headHash.map { String(format: "%02x", $0) }.joined()),
            ("signed at", Output.timestamp(checkpoint.signedAt, isSet: checkpoint.hasSignedAt)),
            ("key", checkpoint.keyID),
        ])
    }
}
