import ArgumentParser
import DossierClient
import Foundation
import SwiftProtobuf

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Aggregate statistics for operators: records, documents, grants, closures, monthly figures.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Number of months up to now, 1 to 1200.") var months: Int = 12

    func validate() throws {
        guard (1...1200).contains(months) else { throw ValidationError("--months must be 1 to 1200") }
    }

    func run() async throws {
        let start = Calendar(identifier: .gregorian).date(byAdding: .month, value: -(months - 1), to: Date())!
        let response = try await connection.withClient { client in
            try await client.statistics.getStatistics(.with {
                $0.rangeStart = Google_Protobuf_Timestamp(date: start)
            }, options: connection.callOptions)
        }
        if connection.json { return try Output.json(response) }
        let records = response.records
        let documents = response.documents
        let grants = response.grants
        Output.table([
            ("records", "\(records.pending) pending, \(records.active) active, \(records.closed) closed"),
            ("with referring physician", "\(records.withReferringPhysician)"),
            ("closures", "\(response.closuresTotal) (closure rate \(String(format: "%.1f", response.closureRate * 100)) %)"),
            ("documents", "\(documents.total) (\(documents.current) current, \(documents.deprecated) deprecated, \(documents.patientSpace) personal space)"),
            ("content", "\(documents.contentBytes >> 20) MiB"),
            ("active grants", "\(grants.active) (\(grants.activeExtended) extended, \(grants.activeReadWrite) read-write, \(grants.activeToOrganisations) organisations)"),
            ("presence-code / emergency", "\(grants.activePresenceCode) / \(grants.activeEmergency)"),
            ("records with delegates", "\(grants.recordsWithDelegates)"),
        ])
        print("")
        Output.columns(
            ["MONTH", "DEPOSITED", "DOCUMENTS", "OPENED", "CLOSED", "REOPENED", "GRANTS", "CODES", "EMERGENCY"],
            response.buckets.map { bucket in
                [String(Output.timestamp(bucket.periodStart, isSet: true).prefix(7)), "\(bucket.documentsDeposited)",
                 "\(bucket.documentsAtEnd)", "\(bucket.recordsOpened)", "\(bucket.recordsClosed)", "\(bucket.recordsReopened)",
                 "\(bucket.grantsCreated)", "\(bucket.presenceCodesRedeemed)", "\(bucket.emergencyAccesses)"]
            })
    }
}
