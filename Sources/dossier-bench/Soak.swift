import DossierClient
import Foundation
import Synchronization

/// `--mode soak`: saturation phases one after another, each for `phaseSeconds` — idle, small
/// deposits, 64 KiB deposits, uploads with 8 chunks in flight, reads, a flood from many
/// connections, idle again — while a sampler reads the server's metrics endpoint every
/// `sampleSeconds` (resident memory, descriptors, RocksDB memtables and block cache, the
/// in-flight budget) and two probes measure what other clients get meanwhile: a patient's
/// Health and a second professional's GetDocument, one call at a time. Prints a table line and a
/// JSON line per sample, one report line per phase and a summary against the bound
/// block cache + memtables + in-flight budget + 512 MiB. Numbers only: nothing is asserted.
struct Soak {
    let target: Target
    let metrics: MetricsScrape
    let phaseSeconds: Double
    let sampleSeconds: Double
    let floodConnections: Int

    struct Phase {
        let name: String
        let mix: String?
        var connections = 0
        var inFlight = 0
        var documents = 0
    }

    var phases: [Phase] {
        [
            Phase(name: "idle-before", mix: nil),
            Phase(name: "deposit-4k", mix: "deposit-4k", connections: 16, inFlight: 8),
            Phase(name: "deposit-64k", mix: "deposit-64k", connections: 32, inFlight: 8),
            Phase(name: "upload-8m", mix: "upload-8m", connections: 8, inFlight: 2),
            Phase(name: "reads", mix: "get-document=4,read-4k=2,find=2,overview=1", connections: 16, inFlight: 8, documents: 20),
            Phase(name: "flood-64k", mix: "deposit-64k", connections: floodConnections, inFlight: 4),
            Phase(name: "idle-after", mix: nil),
        ]
    }

    func run() async throws {
        let start = ContinuousClock.now
        let probes = try await Probes(target: target)
        let sampler = Sampler(metrics: metrics, start: start)
        print("t_s  phase         rss_MiB  fds  memtables_MiB  block_cache_MiB  inflight_MiB  waiting  calls_total")
        var peaks: [(String, Sample)] = []
        let baseline = try sampler.sample(phase: "start")
        sampler.print(baseline)
        for (number, phase) in phases.enumerated() {
            let samplesBefore = sampler.count
            let probing = Task { await probes.run(until: ContinuousClock.now + .milliseconds(Int64(phaseSeconds * 1000))) }
            let sampling = Task { await sampler.loop(phase: phase.name, every: sampleSeconds) }
            var results: [Operation: Measurement] = [:]
            var seconds = phaseSeconds
            if let mixText = phase.mix {
                var load = CallLoad(
                    target: target, mix: try Mix(mixText), connections: phase.connections, inFlight: phase.inFlight,
                    warmup: 0, duration: phaseSeconds, calls: nil, documents: phase.documents, population: nil)
                load.workerBase = (number + 1) * 1_000_000
                (results, seconds) = try await load.run()
            } else {
                try await Task.sleep(for: .milliseconds(Int64(phaseSeconds * 1000)))
            }
            let probed = await probing.value
            sampling.cancel()
            _ = await sampling.value
            let report = Report(setting: ["phase": "\"\(phase.name)\"", "connections": "\(phase.connections)", "in_flight": "\(phase.inFlight)"])
            for (operation, measurement) in results.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                report.print(operation.rawValue, measurement, seconds: seconds)
            }
            report.print("probe-health", probed.health, seconds: phaseSeconds)
            report.print("probe-get-document", probed.getDocument, seconds: phaseSeconds)
            if let peak = sampler.samples(from: samplesBefore).max(by: { $0.rss < $1.rss }) { peaks.append((phase.name, peak)) }
        }
        await probes.close()
        summarize(baseline: baseline, peaks: peaks, last: sampler.samples(from: 0).last ?? baseline)
    }

    private func summarize(baseline: Sample, peaks: [(String, Sample)], last: Sample) {
        let mib = 1.0 / Double(1 << 20)
        let peak = peaks.map(\.1).max(by: { $0.rss < $1.rss }) ?? baseline
        let memtablesPeak = peaks.map(\.1.memtables).max() ?? 0
        let bound = peak.blockCacheCapacity + memtablesPeak + peak.inflightBudget + Double(512 << 20)
        for (name, sample) in peaks {
            Swift.print(String(format: "peak in %@: rss %.0f MiB, memtables %.0f MiB, block cache %.0f MiB, in flight %.0f MiB, fds %.0f",
                               name, sample.rss * mib, sample.memtables * mib, sample.blockCache * mib, sample.inflight * mib, sample.fds))
        }
        Swift.print(String(
            format: "soak: baseline rss %.0f MiB, peak %.0f MiB, after the load %.0f MiB; bound (block cache %.0f + memtables %.0f + in-flight budget %.0f + 512) %.0f MiB: peak %@ the bound",
            baseline.rss * mib, peak.rss * mib, last.rss * mib, peak.blockCacheCapacity * mib, memtablesPeak * mib,
            peak.inflightBudget * mib, bound * mib, peak.rss <= bound ? "within" : "ABOVE"))
        Swift.print("{\"soak\":\"summary\",\"baseline_rss_bytes\":\(Int(baseline.rss)),\"peak_rss_bytes\":\(Int(peak.rss)),"
            + "\"after_rss_bytes\":\(Int(last.rss)),\"bound_bytes\":\(Int(bound)),\"within_bound\":\(peak.rss <= bound)}")
    }
}

/// One reading of the server's metrics.
struct Sample: Sendable {
    var seconds = 0.0
    var phase = ""
    var rss = 0.0
    var fds = 0.0
    var memtables = 0.0
    var blockCache = 0.0
    var blockCacheCapacity = 0.0
    var inflight = 0.0
    var inflightBudget = 0.0
    var waiting = 0.0
    var calls = 0.0
}

/// Reads the metrics endpoint every few seconds and prints each sample.
final class Sampler: Sendable {
    let metrics: MetricsScrape
    let start: ContinuousClock.Instant
    private let taken = Mutex<[Sample]>([])

    init(metrics: MetricsScrape, start: ContinuousClock.Instant) {
        self.metrics = metrics
        self.start = start
    }

    var count: Int { taken.withLock { $0.count } }
    func samples(from index: Int) -> [Sample] { taken.withLock { Array($0[index...]) } }

    func sample(phase: String) throws -> Sample {
        let series = try metrics.scrape()
        let calls = series.filter { $0.key.hasPrefix("dossier_calls_total") }.values.reduce(0, +)
        var sample = Sample(
            seconds: Measurement.micros(ContinuousClock.now - start) / 1e6, phase: phase,
            rss: series["process_resident_memory_bytes"] ?? 0, fds: series["process_open_fds"] ?? 0,
            memtables: series["dossier_rocksdb_memtable_bytes"] ?? 0, blockCache: series["dossier_rocksdb_block_cache_bytes"] ?? 0,
            blockCacheCapacity: series["dossier_rocksdb_block_cache_capacity_bytes"] ?? 0,
            inflight: series["dossier_inflight_bytes"] ?? 0, inflightBudget: series["dossier_inflight_budget_bytes"] ?? 0,
            waiting: series["dossier_admissions_waiting"] ?? 0)
        sample.calls = calls
        taken.withLock { $0.append(sample) }
        return sample
    }

    func loop(phase: String, every seconds: Double) async {
        while !Task.isCancelled {
            if let sample = try? sample(phase: phase) { print(sample) }
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
        }
    }

    func print(_ s: Sample) {
        let mib = 1.0 / Double(1 << 20)
        Swift.print(String(
            format: "%4.0f  %-12@ %8.0f %4.0f %14.0f %16.0f %13.0f %8.0f %12.0f", s.seconds, s.phase, s.rss * mib, s.fds,
            s.memtables * mib, s.blockCache * mib, s.inflight * mib, s.waiting, s.calls))
        Swift.print(String(
            format: "{\"sample\":%.1f,\"phase\":\"%@\",\"rss_bytes\":%.0f,\"open_fds\":%.0f,\"memtable_bytes\":%.0f,\"block_cache_bytes\":%.0f,\"inflight_bytes\":%.0f,\"admissions_waiting\":%.0f,\"calls_total\":%.0f}",
            s.seconds, s.phase, s.rss, s.fds, s.memtables, s.blockCache, s.inflight, s.waiting, s.calls))
    }
}

/// What other clients get while a phase loads the server: a patient's Health and a second
/// professional's GetDocument on a record of its own, one call at a time each.
struct Probes: Sendable {
    let patient: DossierClient
    let professional: DossierClient
    let documentID: String
    let worker = 999_998

    init(target: Target) async throws {
        let helpdesk = try await target.connect("operator-helpdesk")
        let gp = try await target.connect("professional-gp")
        let prepared = try await Calls.prepare(workers: [worker], operatorClient: helpdesk, gp: gp, documents: 1, large: false)
        await helpdesk.close()
        documentID = prepared[worker]?.small ?? ""
        professional = gp
        patient = try await target.connect("patient-alice")
    }

    func run(until end: ContinuousClock.Instant) async -> (health: Measurement, getDocument: Measurement) {
        async let health = loop(until: end) { _ = try await patient.health.check(.init()) }
        async let document = loop(until: end) { [professional, documentID, worker] in
            _ = try await professional.documents.getDocument(.with {
                $0.patientID = Calls.patient(worker)
                $0.documentID = documentID
            })
        }
        return await (health, document)
    }

    private func loop(until end: ContinuousClock.Instant, _ call: @Sendable () async throws -> Void) async -> Measurement {
        var measurement = Measurement()
        while ContinuousClock.now < end {
            let began = ContinuousClock.now
            do {
                try await call()
                measurement.latenciesMicros.append(Measurement.micros(ContinuousClock.now - began))
            } catch let error as RPCStatusError where error.reason == "SERVER_BUSY" {
                measurement.busy += 1
            } catch {
                measurement.errors += 1
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return measurement
    }

    func close() async {
        await patient.close()
        await professional.close()
    }
}

/// A Prometheus text endpoint read over plain HTTP/1.0 (the server's `--metrics-port`): the
/// value of each series, labels included in the name.
struct MetricsScrape: Sendable {
    let host: String
    let port: Int

    init(_ address: String) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw BenchError("--metrics must be host:port")
        }
        host = String(address[..<colon])
        self.port = port
    }

    func scrape() throws -> [String: Double] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            throw BenchError("cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard socket >= 0 else { throw BenchError("socket: errno \(errno)") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            throw BenchError("cannot connect to the metrics endpoint \(host):\(port): errno \(errno)")
        }
        let request = Array("GET /metrics HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        guard send(socket, request, request.count, 0) == request.count else { throw BenchError("send: errno \(errno)") }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        var series: [String: Double] = [:]
        for line in String(decoding: response, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
        return series
    }
}
