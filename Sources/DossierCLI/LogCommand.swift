import ArgumentParser
import DossierClient
import DossierCore
import Foundation
import SwiftProtobuf

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "The record's access log: list it, keep a signed checkpoint, verify it.",
        subcommands: [List.self, Checkpoint.self, Verify.self, Keys.self], defaultSubcommand: List.self)
}

extension LogCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who did what, when (patient, delegate); newest first.")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Option(help: "Only entries by this actor id.") var actor: String?
        @Flag(help: "Only denied attempts.") var denied = false
        @Flag(help: "Only emergency accesses.") var emergency = false
        @Option(help: "Only entries about this document (which data were accessed).") var document: String?
        @Option(help: "Only entries at or after this time (ISO 8601, e.g. 2026-01-31T00:00:00Z).") var since: String?
        @Option(help: "Only entries before this time (ISO 8601).") var until: String?
        @Flag(help: "Oldest first.") var oldestFirst = false
        @Option(help: "At most this many entries (newest first), 1 or more.") var limit = 50

        func validate() throws {
            guard limit >= 1 else { throw ValidationError("--limit must be 1 or more") }
            for (name, text) in [("--since", since), ("--until", until)] {
                if let text, ISO8601DateFormatter().date(from: text) == nil {
                    throw ValidationError("\(name) must be an ISO 8601 time such as 2026-01-31T00:00:00Z")
                }
            }
        }

        func run() async throws {
            let formatter = ISO8601DateFormatter()
            let from = since.flatMap(formatter.date(from:))
            let to = until.flatMap(formatter.date(from:))
            let entries = try await connection.withClient { client in
                try await Pages.collect(limit: limit) { token, size in
                    let page = try await client.accessLog.listAccessLog(.with {
                        $0.patientID = patientID
                        $0.actorID = actor ?? ""
                        if denied { $0.outcomes = [.denied] }
                        $0.emergencyOnly = emergency
                        $0.documentID = document ?? ""
                        $0.oldestFirst = oldestFirst
                        if let from { $0.since = Google_Protobuf_Timestamp(date: from) }
                        if let to { $0.until = Google_Protobuf_Timestamp(date: to) }
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.entries, page.nextPageToken)
                }.items
            }
            if connection.json {
                return try Output.json(Dossier_V1_ListAccessLogResponse.with { $0.entries = entries })
            }
            Output.columns(
                ["#", "TIME", "WHO", "WHAT", "DOCUMENTS", "OUTCOME", "REASON"], entries.map(LogTable.row))
        }
    }
}

extension LogCommand {
    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Get a checkpoint of the log signed by the server, and keep it (patient, delegate).",
            discussion: "Keep the file: `dossier log verify --checkpoint FILE` later proves that nothing before it was removed or changed.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Option(help: "Write the checkpoint to this file (JSON).") var save: String?

        func run() async throws {
            let checkpoint = try await connection.withClient { client in
                try await client.accessLog.getLogCheckpoint(.with { $0.patientID = patientID }, options: connection.callOptions).checkpoint
            }
            if let save {
                do {
                    try Data(try checkpoint.jsonUTF8Data()).write(to: URL(fileURLWithPath: save))
                } catch {
                    throw CLIFailure.file(save, error)
                }
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
        @Argument(help: "The patient's id.") var patientID: String
        @Option(help: "A checkpoint file saved by `dossier log checkpoint --save`.") var checkpoint: String?

        func run() async throws {
            let trusted = try checkpoint.map { path -> Dossier_V1_LogCheckpoint in
                do {
                    return try Dossier_V1_LogCheckpoint(jsonUTF8Data: try Data(contentsOf: URL(fileURLWithPath: path)))
                } catch {
                    throw CLIFailure.file(path, error)
                }
            }
            let response = try await connection.withClient { client in
                try await client.accessLog.verifyAccessLog(.with {
                    $0.patientID = patientID
                    if let trusted { $0.trustedCheckpoint = trusted }
                }, options: connection.callOptions)
            }
            let verified = response.result == .verified
            if connection.json {
                try Output.json(response)
            } else if verified {
                print("VERIFIED: \(response.entriesVerified) entries" + (trusted.map { ", extending the checkpoint at entry \($0.sequence)" } ?? ""))
                LogCommand.show(response.checkpoint)
            } else {
                print("FAILED at entry \(response.firstBadSequence): \(Vocabulary.name(response.failure)) — \(response.failureDetail)")
            }
            // A broken chain is an integrity failure, whatever the output format.
            guard verified else {
                throw CLIFailure.integrity("the access log does not verify (entry \(response.firstBadSequence))")
            }
        }
    }

    static func show(_ checkpoint: Dossier_V1_LogCheckpoint) {
        Output.table([
            ("entries", "\(checkpoint.sequence)"),
            ("head hash", checkpoint.headHash.hex),
            ("signed at", Output.timestamp(checkpoint.signedAt, isSet: checkpoint.hasSignedAt)),
            ("key", checkpoint.keyID),
        ])
    }
}

/// One access-log entry as a table row: time, who (name, id, profession, organisation), what
/// (the operation in words, and whom it concerned), documents, outcome, reason (with the
/// emergency flag and the professional's stated reason).
enum LogTable {
    static func row(_ entry: Dossier_V1_AccessLogEntry) -> [String] {
        let time = ISO8601DateFormatter().string(from: entry.time.date)
        let who = [entry.actor.displayName, entry.actor.id, entry.actor.profession, entry.actor.organisation]
            .filter { !$0.isEmpty }.joined(separator: " · ")
        var what = words(entry.operation)
        if entry.hasSubject, !entry.subject.id.isEmpty { what += " → " + entry.subject.id }
        let documents = entry.documentIds.joined(separator: ", ")
        let outcome = entry.outcome == .success ? "ok" : entry.outcome == .denied ? "DENIED" : "failed"
        var reason = entry.reason
        if entry.emergency {
            reason = (["EMERGENCY"] + [entry.emergencyReason, reason].filter { !$0.isEmpty }).joined(separator: ": ")
        }
        return ["\(entry.sequence)", time, who, what, documents, outcome, reason]
    }

    /// ACCESS_OPERATION_GET_DOCUMENT → "get document" (the vocabulary's words, spaced).
    static func words(_ operation: Dossier_V1_AccessOperation) -> String {
        Vocabulary.name(operation).replacingOccurrences(of: "-", with: " ")
    }
}
