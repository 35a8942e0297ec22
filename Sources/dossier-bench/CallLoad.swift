import DossierClient
import Foundation
import Synchronization

/// N connections with M calls in flight each, running a mix for a duration (after a warm-up) or
/// for a number of calls; latency measured by the client from send to answer.
struct CallLoad {
    let target: Target
    let mix: Mix
    let connections: Int
    let inFlight: Int
    let warmup: Double
    let duration: Double
    /// When set, the run stops after this many measured calls instead of after `duration`.
    let calls: Int?
    let documents: Int
    /// Records loaded by `--mode load`: each call picks one at random instead of the worker's own.
    let population: Population?
    /// Added to every worker number, so that successive loads in one process (the soak's phases)
    /// open records of their own.
    var workerBase = 0

    func run() async throws -> (results: [Operation: Measurement], seconds: Double) {
        var roles = Set(mix.operations.map(\.role))
        if population != nil && mix.operations.contains(where: \.needsDocument) { roles.insert("professional-gp") }
        // One connection per role per connection index.
        var clients: [[String: DossierClient]] = []
        for _ in 0..<connections {
            var byRole: [String: DossierClient] = [:]
            for role in roles { byRole[role] = try await target.connect(role) }
            clients.append(byRole)
        }
        let workerBase = self.workerBase
        let workers = (0..<connections).flatMap { index in (0..<inFlight).map { workerBase + index * 1000 + $0 } }
        var prepared: [Int: Calls.Prepared] = [:]
        if population == nil, mix.operations.contains(where: \.usesWorkerRecord) {
            let helpdesk = try await target.connect("operator-helpdesk")
            let gp = try await target.connect("professional-gp")
            let reads: Set<Operation> = [.getDocument, .read4k, .find, .overview]
            prepared = try await Calls.prepare(
                workers: workers, operatorClient: helpdesk, gp: gp,
                documents: mix.operations.contains(where: reads.contains) ? documents : 0,
                large: mix.operations.contains(.readContent))
            await helpdesk.close()
            await gp.close()
        }
        if mix.operations.contains(.getRecord) || mix.operations.contains(.listLog) {
            let patient = try await target.connect("patient-alice")
            _ = try? await patient.records.activateRecord(.with { $0.patientID = Calls.hotPatient })
            await patient.close()
        }
        let payloads = Payloads()
        let mix = self.mix
        let remaining = Budget(calls ?? Int.max)
        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let end = calls == nil ? measureFrom + .milliseconds(Int64(duration * 1000)) : ContinuousClock.now + .seconds(86_400)
        let preparedRecords = prepared
        let population = self.population
        let results = try await withThrowingTaskGroup(of: [Operation: Measurement].self) { group in
            for (index, byRole) in clients.enumerated() {
                for slot in 0..<inFlight {
                    let worker = workerBase + index * 1000 + slot
                    group.addTask {
                        var results: [Operation: Measurement] = [:]
                        var sequence = 0
                        var documentOf: [Int: String] = [:]
                        while ContinuousClock.now < end {
                            let operation = mix.sequence[(worker + sequence) % mix.sequence.count]
                            let measuring = ContinuousClock.now >= measureFrom
                            if measuring, !remaining.take() { break }
                            // From a loaded population: a random record, and for reads of one
                            // document an id found first (not measured).
                            var patient: String?
                            var prepared = preparedRecords[worker]
                            if let population {
                                let index = Int.random(in: 0..<population.count)
                                patient = operation.usesWorkerRecord ? population.patient(index) : nil
                                if operation.needsDocument {
                                    if documentOf[index] == nil {
                                        documentOf[index] = try? await population.firstDocument(index, byRole["professional-gp"]!)
                                    }
                                    prepared = Calls.Prepared(small: documentOf[index] ?? "")
                                }
                            }
                            let began = ContinuousClock.now
                            var failed = false
                            var busy = false
                            do {
                                try await Calls.call(
                                    operation, byRole[operation.role]!, worker: worker, sequence: sequence,
                                    prepared: prepared, payloads: payloads, patient: patient)
                            } catch let error as RPCStatusError where error.reason == "SERVER_BUSY" {
                                // As a well-behaved client: come back later (the server says 1 s).
                                busy = true
                                try? await Task.sleep(for: .milliseconds(500))
                            } catch {
                                failed = true
                            }
                            sequence += 1
                            let finished = ContinuousClock.now
                            guard measuring, finished <= end else { continue }
                            if busy {
                                results[operation, default: .init()].busy += 1
                            } else if failed {
                                results[operation, default: .init()].errors += 1
                            } else {
                                results[operation, default: .init()].latenciesMicros.append(Measurement.micros(finished - began))
                            }
                            results[operation]?.bytesPerCall = operation.payloadBytes
                        }
                        return results
                    }
                }
            }
            var all: [Operation: Measurement] = [:]
            for try await partial in group {
                for (operation, measurement) in partial { all[operation, default: .init()].merge(measurement) }
            }
            return all
        }
        let seconds = calls == nil ? duration : Measurement.micros(ContinuousClock.now - measureFrom) / 1e6
        for byRole in clients { for client in byRole.values { await client.close() } }
        return (results, seconds)
    }
}

/// The server and the development certificates to call it with.
struct Target: Sendable {
    let host: String
    let port: Int
    let certs: String

    func files(_ role: String) -> TLSFiles {
        TLSFiles(certificateChain: "\(certs)/\(role).pem", privateKey: "\(certs)/\(role).key", trustRoots: "\(certs)/ca.pem")
    }

    func connect(_ role: String) async throws -> DossierClient {
        try await DossierClient.connect(ClientConfiguration(host: host, port: port, tls: files(role)))
    }
}

/// The measured calls left in a fixed-count run, shared by the workers.
final class Budget: Sendable {
    private let left: Atomic<Int>
    init(_ count: Int) { left = Atomic(count) }
    func take() -> Bool { left.subtract(1, ordering: .relaxed).newValue >= 0 }
}
