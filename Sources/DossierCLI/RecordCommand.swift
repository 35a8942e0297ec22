import ArgumentParser
import DossierClient
import Foundation

struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record", abstract: "Record lifecycle: open, open in bulk, activate, get, close, reopen, delete.",
        subcommands: [Open.self, OpenBulk.self, Activate.self, Get.self, Close.self, Reopen.self, Delete.self, RecordExport.self, RecordImport.self])

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open one record (operator).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The insured person's identifier.") var patientID: String
        @Option(help: "Enroll with this referring physician (professional id).") var referringPhysician: String?
        @Flag(help: "Open active at once (the patient consented in person).") var skipObjectionPeriod = false

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.records.openRecord(
                    .with {
                        $0.patientID = patientID
                        $0.enrollment = referringPhysician == nil ? .volunteer : .referringPhysician
                        $0.referringPhysicianID = referringPhysician ?? ""
                        $0.skipObjectionPeriod = skipObjectionPeriod
                    }, options: connection.callOptions)
            }
            try RecordTable.show(response, response.record, json: connection.json)
        }
    }

    struct OpenBulk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "open-bulk",
            abstract: "Open records in bulk, opt-out (operator).",
            discussion: "FILE holds one entry per line: PATIENT_ID or PATIENT_ID,REFERRING_PHYSICIAN_ID. '-' reads standard input. Sent in calls of 1,000. Exits 1 when the server rejected any entry (the others are opened; each rejected line is printed with its reason).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "File of patient ids, or - for standard input.") var file: String

        func run() async throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw CLIFailure.file(file, error)
                }
            }
            let entries = Self.entries(in: text)
            guard !entries.isEmpty else { throw ValidationError("no entries in \(file)") }
            var total = Dossier_V1_OpenRecordsResponse()
            try await connection.withClient { client in
                for start in stride(from: 0, to: entries.count, by: Self.callSize) {
                    let chunk = entries[start..<min(start + Self.callSize, entries.count)]
                    let response = try await client.records.openRecords(
                        .with { $0.enrollments = chunk.map { $0.enrollment } }, options: connection.callOptions)
                    total.results += response.results
                    total.opened += response.opened
                    total.alreadyExisting += response.alreadyExisting
                    total.rejected += response.rejected
                    if response.hasObjectionPeriodEndsAt { total.objectionPeriodEndsAt = response.objectionPeriodEndsAt }
                    guard !connection.json else { continue }
                    // Results come one per entry, in request order.
                    for (entry, result) in zip(chunk, response.results) where result.outcome == .rejected {
                        print("rejected line \(entry.line): \(result.reason)")
                    }
                }
            }
            if connection.json {
                try Output.json(total)
            } else {
                Output.table([
                    ("opened", "\(total.opened)"), ("already existing", "\(total.alreadyExisting)"),
                    ("rejected", "\(total.rejected)"),
                ])
            }
            // The others are opened; a script must still see that some entries were not.
            if total.rejected > 0 {
                throw CLIFailure(ExitStatus.refused, "\(total.rejected) of \(entries.count) entries rejected by the server")
            }
        }

        static let callSize = 1000

        /// The entries of the file with their line numbers (1-based, counting the blank and
        /// comment lines that are skipped).
        static func entries(in text: String) -> [(line: Int, enrollment: Dossier_V1_BulkEnrollment)] {
            text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().compactMap { index, raw in
                let line = raw.trimmingCharacters(in: .whitespaces)
                guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
                let fields = line.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return (index + 1, Dossier_V1_BulkEnrollment.with {
                    $0.patientID = fields[0]
                    if fields.count == 2 {
                        $0.enrollment = .referringPhysician
                        $0.referringPhysicianID = fields[1]
                    }
                })
            }
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Activate your own record (patient).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Option(help: "Enroll with this referring physician.") var referringPhysician: String?

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.records.activateRecord(
                    .with {
                        $0.patientID = patientID
                        $0.enrollment = referringPhysician == nil ? .volunteer : .referringPhysician
                        $0.referringPhysicianID = referringPhysician ?? ""
                    }, options: connection.callOptions)
            }
            try RecordTable.show(response, response.record, json: connection.json)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a record's lifecycle state.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.records.getRecord(.with { $0.patientID = patientID }, options: connection.callOptions)
            }
            try RecordTable.show(response, response.record, json: connection.json)
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a record (patient, delegate, or operator on request).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.records.closeRecord(.with { $0.patientID = patientID }, options: connection.callOptions)
            }
            try RecordTable.show(response, response.record, json: connection.json)
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a closed record.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.records.reopenRecord(.with { $0.patientID = patientID }, options: connection.callOptions)
            }
            try RecordTable.show(response, response.record, json: connection.json)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for a closed record to be purged now (irreversible).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Flag(help: "Confirm that the deletion is irreversible.") var yes = false

        func run() async throws {
            guard yes else { throw ValidationError("deletion is irreversible: add --yes to confirm") }
            let response = try await connection.withClient { client in
                try await client.records.requestDeletion(
                    .with {
                        $0.patientID = patientID
                        $0.confirmIrreversible = true
                    }, options: connection.callOptions)
            }
            if connection.json {
                try Output.json(response)
            } else {
                Output.table([("purge scheduled", Output.timestamp(response.purgeScheduledAt, isSet: response.hasPurgeScheduledAt))])
            }
        }
    }
}

/// The table view of a record.
enum RecordTable {
    static func show(_ response: some SwiftProtobuf.Message, _ record: Dossier_V1_Record, json: Bool) throws {
        if json {
            try Output.json(response)
            return
        }
        Output.table([
            ("patient", record.patientID),
            ("state", Vocabulary.name(record.state)),
            ("enrollment", Vocabulary.name(record.enrollment)),
            ("referring physician", record.referringPhysicianID),
            ("opened by", Vocabulary.name(record.openedBy)),
            ("opened at", Output.timestamp(record.openedAt, isSet: record.hasOpenedAt)),
            ("objection period ends", Output.timestamp(record.objectionPeriodEndsAt, isSet: record.hasObjectionPeriodEndsAt)),
            ("active since", Output.timestamp(record.activeSince, isSet: record.hasActiveSince)),
            ("closed at", Output.timestamp(record.closedAt, isSet: record.hasClosedAt)),
            ("closure reason", Vocabulary.name(record.closureReason)),
            ("purge after", Output.timestamp(record.purgeAfter, isSet: record.hasPurgeAfter)),
            ("deletion requested", Output.timestamp(record.deletionRequestedAt, isSet: record.hasDeletionRequestedAt)),
            ("version", "\(record.version)"),
        ])
    }
}

import SwiftProtobuf
