import ArgumentParser
import DossierClient
import Foundation

/// The load generator (BENCHMARKS.md): N mutual-TLS connections with M calls in flight each
/// running a weighted mix for a fixed duration after a warm-up (or a fixed number of calls);
/// prints calls/s, MB/s and latency percentiles per operation, each followed by one JSON line.
/// Also a handshake mode (a new connection per call), a large-document mode and a soak mode
/// (saturation phases while the server's memory is sampled). Numbers only:
/// nothing here asserts a time.
@main
struct DossierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier-bench", abstract: "Load a running dossierd and print calls/s, MB/s and latency percentiles.",
        discussion: "Operations: " + Operation.allCases.map { "\($0.rawValue) (\($0.what))" }.joined(separator: "; "))

    @Option(help: "Server host:port.") var server = "127.0.0.1:7443"
    @Option(help: "Directory of the development certificates (certs/make-dev-certs.sh).") var certs = "certs/dev"
    @Option(help: "calls (a mix on long-lived connections), load (bulk records and documents, see --population), handshake (new connection per call), large-document (upload then download), soak (saturation phases with memory sampled from --metrics), tls-stream (the same size over a plain mutual-TLS stream in this process: the ceiling for large-document).")
    var mode = "calls"
    @Option(help: "Connections (handshake mode: concurrent workers).") var connections = 16
    @Option(help: "Calls in flight per connection.") var inFlight = 8
    @Option(help: "Seconds of measurement.") var duration: Double = 10
    @Option(help: "Stop after this many measured calls instead of --duration.") var calls: Int?
    @Option(help: "Seconds of warm-up (not measured).") var warmup: Double = 2
    @Option(help: "One operation (see below); same as --mix NAME.") var operation: String?
    @Option(help: "Weighted mix, e.g. deposit-4k=1,get-document=4,find=2,overview=1,list-log=1,health=1.") var mix: String?
    @Option(help: "4 KiB documents per worker record prepared for get-document, read-4k, find and overview.") var documents = 100
    @Option(help: "Records loaded by --mode load, as prefix:count; in calls mode each call then picks one at random.") var population: String?
    @Option(help: "Load mode: documents deposited per record.") var documentsPerRecord = 10
    @Option(help: "Load mode: first record index (grows a population loaded up to it).") var loadFrom = 0
    @Flag(help: "Load mode: contents of 1-2 KiB instead of the realistic spread (10 M documents on a small disk).") var smallContents = false
    @Option(help: "Large-document mode: size in MiB.") var largeSize = 64
    @Option(help: "Large-document mode: 1 MiB ranges in flight while downloading.") var window = 8
    @Option(help: "Large-document mode: chunks in flight while uploading (1: one at a time).") var uploadWindow = 4
    @Option(help: "Soak mode: the server's metrics endpoint host:port (dossierd --metrics-port), sampled for memory and descriptors.")
    var metrics = "127.0.0.1:9464"
    @Option(help: "Soak mode: seconds each phase lasts.") var phaseSeconds: Double = 30
    @Option(help: "Soak mode: seconds between samples.") var sampleSeconds: Double = 3
    @Option(help: "Soak mode: connections of the flood phase (4 calls in flight each).") var floodConnections = 256

    func run() async throws {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("server must be host:port")
        }
        let target = Target(host: String(server[..<colon]), port: port, certs: certs)
        switch mode {
        case "calls":
            let mix = try Mix(self.mix ?? operation ?? "health")
            if population != nil, mix.operations.contains(.readContent) {
                throw ValidationError("read-content needs the workers' own records (a 1 MiB document each): drop --population")
            }
            let load = CallLoad(
                target: target, mix: mix, connections: connections, inFlight: inFlight, warmup: warmup,
                duration: duration, calls: calls, documents: documents, population: try population.map(Population.init))
            let (results, seconds) = try await load.run()
            let report = Report(setting: ["connections": "\(connections)", "in_flight": "\(inFlight)", "seconds": String(format: "%.1f", seconds)])
            for operation in mix.operations {
                report.print(operation.rawValue, results[operation] ?? .init(), seconds: seconds)
            }
            if mix.operations.count > 1 {
                var total = Measurement()
                for measurement in results.values { total.latenciesMicros += measurement.latenciesMicros; total.errors += measurement.errors }
                report.print("total", total, seconds: seconds)
            }
        case "load":
            guard let population else { throw ValidationError("load needs --population prefix:count") }
            try await ScaleLoad(
                target: target, population: try Population(population), documentsPerRecord: documentsPerRecord,
                connections: connections, inFlight: inFlight, from: loadFrom, smallContents: smallContents
            ).run()
        case "handshake":
            let measurement = try await HandshakeLoad(target: target, workers: connections, warmup: warmup, duration: duration).run()
            Report(setting: ["workers": "\(connections)"]).print("handshake", measurement, seconds: duration, unit: "connections")
        case "large-document":
            try await LargeDocument(target: target, size: largeSize << 20, window: window, uploadWindow: uploadWindow)
                .run(report: Report(setting: ["size_mib": "\(largeSize)", "window": "\(window)", "upload_window": "\(uploadWindow)"]))
        case "soak":
            guard phaseSeconds > 0, phaseSeconds <= 86_400, sampleSeconds >= 0.1, sampleSeconds <= 3_600, (1...4_000).contains(floodConnections)
            else { throw ValidationError("soak needs 0 < --phase-seconds ≤ 86400, 0.1 ≤ --sample-seconds ≤ 3600, 1 ≤ --flood-connections ≤ 4000") }
            try await Soak(
                target: target, metrics: try MetricsScrape(metrics), phaseSeconds: phaseSeconds, sampleSeconds: sampleSeconds,
                floodConnections: floodConnections
            ).run()
        case "tls-stream":
            try await TLSStream(certs: certs, size: largeSize << 20).run(report: Report(setting: ["size_mib": "\(largeSize)"]))
        default:
            throw ValidationError("unknown mode \(mode)")
        }
    }
}
