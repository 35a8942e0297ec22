import ArgumentParser
import DossierClient
import Foundation

/// A first load generator: N mutual-TLS connections with M calls in flight each, for a fixed
/// duration after a warm-up; prints calls/s and latency percentiles per operation, then one
/// JSON line. Numbers only: nothing here asserts a time.
@main
struct DossierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier-bench", abstract: "Load a running dossierd and print calls/s and latency percentiles.")

    @Option(help: "Server host:port.") var server = "127.0.0.1:7443"
    @Option(help: "Directory of the development certificates (certs/make-dev-certs.sh).") var certs = "certs/dev"
    @Option(help: "Connections.") var connections = 16
    @Option(help: "Calls in flight per connection.") var inFlight = 8
    @Option(help: "Seconds of measurement.") var duration: Double = 10
    @Option(help: "Seconds of warm-up (not measured).") var warmup: Double = 2
    @Option(help: "Operation: health, get-record (durable log write per call), open-record (durable write), deposit (durable document write), find (search a record of --documents documents), read-content (64 KiB ranges).")
    var operation = "health"
    @Option(help: "Documents per record prepared for find and read-content.") var documents = 100
    @Option(help: "Document size in bytes (deposit, and the prepared documents).") var documentSize = 16 << 10

    func run() async throws {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("server must be host:port")
        }
        let host = String(server[..<colon])
        let role = switch operation {
        case "get-record": "patient-alice"
        case "open-record": "operator-helpdesk"
        default: "professional-gp"
        }
        let files = TLSFiles(certificateChain: "\(certs)/\(role).pem", privateKey: "\(certs)/\(role).key", trustRoots: "\(certs)/ca.pem")
        if operation == "get-record" {
            let setup = try await DossierClient.connect(ClientConfiguration(host: host, port: port, tls: files))
            _ = try? await setup.records.activateRecord(.with { $0.patientID = "1985010112345" })
            await setup.close()
        }
        var clients: [DossierClient] = []
        for _ in 0..<connections {
            clients.append(try await DossierClient.connect(ClientConfiguration(host: host, port: port, tls: files)))
        }
        var seeded: [Int: String] = [:]
        if DocumentWorkloads.operations.contains(operation) {
            let helpdesk = TLSFiles(
                certificateChain: "\(certs)/operator-helpdesk.pem", privateKey: "\(certs)/operator-helpdesk.key",
                trustRoots: "\(certs)/ca.pem")
            let operatorClient = try await DossierClient.connect(ClientConfiguration(host: host, port: port, tls: helpdesk))
            let workers = (0..<connections).flatMap { index in (0..<inFlight).map { index * 1000 + $0 } }
            seeded = try await DocumentWorkloads.prepare(
                workers: workers, operatorClient: operatorClient, gp: clients[0],
                documents: operation == "deposit" ? 0 : (operation == "find" ? documents : 1),
                size: operation == "read-content" ? 1 << 20 : documentSize)
            await operatorClient.close()
        }
        let documentSize = self.documentSize
        let seededDocuments = seeded
        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let end = measureFrom + .milliseconds(Int64(duration * 1000))
        let operation = self.operation
        let measured = try await withThrowingTaskGroup(of: [Double].self) { group in
            for (index, client) in clients.enumerated() {
                for slot in 0..<inFlight {
                    group.addTask {
                        var latencies: [Double] = []
                        var sequence = 0
                        while ContinuousClock.now < end {
                            let began = ContinuousClock.now
                            let worker = index * 1000 + slot
                            if DocumentWorkloads.operations.contains(operation) {
                                try await DocumentWorkloads.call(
                                    operation, client, worker: worker, sequence: sequence, document: seededDocuments[worker], size: documentSize)
                            } else {
                                try await Self.call(operation, client, worker: worker, sequence: sequence)
                            }
                            sequence += 1
                            let finished = ContinuousClock.now
                            if began >= measureFrom && finished <= end {
                                let elapsed = finished - began
                                latencies.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                            }
                        }
                        return latencies
                    }
                }
            }
            var all: [Double] = []
            for try await latencies in group { all += latencies }
            return all
        }
        for client in clients { await client.close() }
        let all = measured.sorted()
        let rate = Double(all.count) / duration
        func percentile(_ p: Double) -> Double { all.isEmpty ? 0 : all[min(all.count - 1, Int(Double(all.count) * p))] }
        print(String(format: "%@: %d connections × %d in flight, %.0f s: %.0f calls/s, latency µs p50 %.0f p90 %.0f p99 %.0f max %.0f",
                     operation, connections, inFlight, duration, rate, percentile(0.5), percentile(0.9), percentile(0.99), all.last ?? 0))
        print("{\"operation\":\"\(operation)\",\"connections\":\(connections),\"in_flight\":\(inFlight),\"calls_per_s\":\(Int(rate)),\"p50_us\":\(Int(percentile(0.5))),\"p90_us\":\(Int(percentile(0.9))),\"p99_us\":\(Int(percentile(0.99))),\"max_us\":\(Int(all.last ?? 0))}")
    }

    static func call(_ operation: String, _ client: DossierClient, worker: Int, sequence: Int) async throws {
        switch operation {
        case "health":
            _ = try await client.health.check(.init())
        case "get-record":
            _ = try await client.records.getRecord(.with { $0.patientID = "1985010112345" })
        case "open-record":
            _ = try await client.records.openRecord(.with {
                $0.patientID = "bench-\(ProcessInfo.processInfo.processIdentifier)-\(worker)-\(sequence)"
                $0.enrollment = .volunteer
            })
        default:
            throw ValidationError("unknown operation \(operation)")
        }
    }
}
