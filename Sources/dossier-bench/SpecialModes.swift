import Crypto
import DossierClient
import Foundation

/// New mutual-TLS connections per second: each of N workers connects, makes one Health call
/// (with TLS 1.3 the client's certificate is checked only then) and closes, in a loop.
struct HandshakeLoad {
    let target: Target
    let workers: Int
    let warmup: Double
    let duration: Double

    func run() async throws -> Measurement {
        let start = ContinuousClock.now
        let measureFrom = start + .milliseconds(Int64(warmup * 1000))
        let end = measureFrom + .milliseconds(Int64(duration * 1000))
        let target = self.target
        return try await withThrowingTaskGroup(of: Measurement.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var measurement = Measurement()
                    while ContinuousClock.now < end {
                        let began = ContinuousClock.now
                        do {
                            let client = try await target.connect("professional-gp")
                            do {
                                _ = try await client.health.check(.init())
                            } catch {
                                await client.close()
                                throw error
                            }
                            await client.close()
                        } catch {
                            if began >= measureFrom { measurement.errors += 1 }
                            continue
                        }
                        let finished = ContinuousClock.now
                        if began >= measureFrom && finished <= end {
                            measurement.latenciesMicros.append(Measurement.micros(finished - began))
                        }
                    }
                    return measurement
                }
            }
            var all = Measurement()
            for try await partial in group { all.merge(partial) }
            return all
        }
    }
}

/// One large document through the resumable upload (chunks of the server's maximum, each
/// durable when acknowledged) and back by ranged reads (`window` ranges in flight).
struct LargeDocument {
    let target: Target
    let size: Int
    let window: Int
    /// Chunks in flight (the server applies them in offset order).
    let uploadWindow: Int

    func run(report: Report) async throws {
        let helpdesk = try await target.connect("operator-helpdesk")
        let gp = try await target.connect("professional-gp")
        let worker = 999_999
        _ = try await Calls.prepare(workers: [worker], operatorClient: helpdesk, gp: gp, documents: 0, large: false)
        await helpdesk.close()
        let content = Calls.content(size, seed: 4)

        let uploadStart = ContinuousClock.now
        let created = try await gp.documents.createUpload(.with {
            $0.patientID = Calls.patient(worker)
            $0.submission = Calls.submission("large-\(UUID().uuidString)")
            $0.declaredSize = UInt64(size)
            $0.expectedSha256 = Data(SHA256.hash(data: content))
        })
        let chunk = Int(created.upload.maxChunkSize == 0 ? 1 << 20 : created.upload.maxChunkSize)
        var chunkLatencies: [Double] = []
        var offset = 0
        try await withThrowingTaskGroup(of: Double.self) { group in
            func submit() {
                let start = offset
                let end = min(size, start + chunk)
                offset = end
                group.addTask {
                    let began = ContinuousClock.now
                    _ = try await gp.documents.uploadChunk(.with {
                        $0.uploadID = created.upload.uploadID
                        $0.offset = UInt64(start)
                        $0.data = content[start..<end]
                    })
                    return Measurement.micros(ContinuousClock.now - began)
                }
            }
            while offset < size && offset < uploadWindow * chunk { submit() }
            for try await micros in group {
                chunkLatencies.append(micros)
                if offset < size { submit() }
            }
        }
        let document = try await gp.documents.completeUpload(.with { $0.uploadID = created.upload.uploadID }).document
        let uploadSeconds = Measurement.micros(ContinuousClock.now - uploadStart) / 1e6

        let downloadStart = ContinuousClock.now
        let range = 1 << 20
        var readLatencies: [Double] = []
        var received = Data(count: size)
        var next = 0
        try await withThrowingTaskGroup(of: (Int, Data, Double).self) { group in
            func submit(_ at: Int) {
                group.addTask {
                    let began = ContinuousClock.now
                    let answer = try await gp.documents.readDocumentContent(.with {
                        $0.patientID = Calls.patient(worker)
                        $0.documentID = document.documentID
                        $0.offset = UInt64(at)
                        $0.length = UInt32(range)
                    })
                    return (at, answer.data, Measurement.micros(ContinuousClock.now - began))
                }
            }
            while next < size && next < window * range {
                submit(next)
                next += range
            }
            for try await (at, data, micros) in group {
                received.replaceSubrange(at..<(at + data.count), with: data)
                readLatencies.append(micros)
                if next < size {
                    submit(next)
                    next += range
                }
            }
        }
        let downloadSeconds = Measurement.micros(ContinuousClock.now - downloadStart) / 1e6
        await gp.close()
        guard received == content else { throw BenchError("the downloaded content differs from the uploaded one") }
        let megabytes = Double(size) / 1e6
        print(String(format: "large document %d MiB: upload %.2f s = %.0f MB/s (chunks of %d KiB, %d in flight), download %.2f s = %.0f MB/s (%d ranges of 1 MiB in flight), content identical",
                     size >> 20, uploadSeconds, megabytes / uploadSeconds, chunk >> 10, uploadWindow, downloadSeconds, megabytes / downloadSeconds, window))
        report.print("upload-chunk", Measurement(latenciesMicros: chunkLatencies, bytesPerCall: chunk), seconds: uploadSeconds)
        report.print("download-range", Measurement(latenciesMicros: readLatencies, bytesPerCall: range), seconds: downloadSeconds)
    }
}
