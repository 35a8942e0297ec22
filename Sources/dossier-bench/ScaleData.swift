import DossierClient
import Foundation
import SwiftProtobuf
import Synchronization

/// Records loaded by `--mode load`, named `<prefix><index>`.
struct Population: Sendable {
    let prefix: String
    let count: Int

    func patient(_ index: Int) -> String { "\(prefix)\(index)" }

    /// The newest document of record `index` (for reads of one document).
    func firstDocument(_ index: Int, _ gp: DossierClient) async throws -> String? {
        try await gp.documents.findDocuments(.with {
            $0.patientID = patient(index)
            $0.pageSize = 1
        }).documents.first?.documentID
    }

    /// `prefix:count`.
    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let count = Int(text[text.index(after: colon)...]), count > 0 else {
            throw BenchError("population must be prefix:count, e.g. scale-:100000")
        }
        prefix = String(text[..<colon])
        self.count = count
    }
}

/// Bulk data through the API: opens `population.count` records (operator, the GP as referring
/// physician, so each record has an access relation) and deposits `documentsPerRecord`
/// documents in each (GP), with realistic metadata and a spread of sizes; every call also
/// writes its access-log entry. Workers = connections × in flight.
struct ScaleLoad {
    let target: Target
    let population: Population
    let documentsPerRecord: Int
    let connections: Int
    let inFlight: Int
    /// First index to load (to grow a population already loaded up to it).
    let from: Int
    /// Contents of 1–2 KiB instead of the realistic spread, for populations whose contents
    /// would not fit the disk (10 M documents); metadata and every other write stay the same.
    let smallContents: Bool

    /// Content size of document `n` of record `index`: 80 % 1–8 KiB (letters, results,
    /// prescriptions), 19 % 8–64 KiB (reports as PDF), 1 % 256 KiB (small imaging reports);
    /// DICOM-sized contents go through `--mode large-document`. Mean ≈ 13 KiB.
    static func size(_ index: Int, _ n: Int) -> Int {
        var x = UInt64(truncatingIfNeeded: index &* 1_000_003 &+ n &* 7919) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        let draw = Int(x % 100)
        let spread = Int((x >> 8) % 1000)
        switch draw {
        case 0..<80: return 1024 + spread * 7
        case 80..<99: return 8192 + spread * 57
        default: return 256 << 10
        }
    }

    static let classes: [Dossier_V1_DocumentClass] = [.labResult, .report, .prescription, .dispensation, .summary, .imaging, .certificate]

    func run() async throws {
        let next = Counter(from)
        let pool = BytePool()
        let started = ContinuousClock.now
        var clients: [DossierClient] = []
        let totals = try await withThrowingTaskGroup(of: (records: Int, documents: Int, bytes: Int).self) { group in
            for _ in 0..<connections {
                let helpdesk = try await target.connect("operator-helpdesk")
                let gp = try await target.connect("professional-gp")
                clients += [helpdesk, gp]
                for _ in 0..<inFlight {
                    group.addTask { [population, documentsPerRecord, smallContents] in
                        var records = 0, documents = 0, bytes = 0
                        while true {
                            let index = next.next()
                            guard index < population.count else { break }
                            let patient = population.patient(index)
                            _ = try await helpdesk.records.openRecord(.with {
                                $0.patientID = patient
                                $0.enrollment = .referringPhysician
                                $0.referringPhysicianID = "gp-1001"
                                $0.skipObjectionPeriod = true
                            })
                            records += 1
                            for n in 0..<documentsPerRecord {
                                let size = smallContents ? 1024 + Self.size(index, n) % 1024 : Self.size(index, n)
                                _ = try await gp.documents.depositDocument(.with {
                                    $0.patientID = patient
                                    $0.submission = .with {
                                        $0.clientUniqueID = "scale-\(index)-\(n)"
                                        $0.title = "Scale document \(n)"
                                        $0.documentClass = Self.classes[(index + n) % Self.classes.count]
                                        $0.typeCode = .with {
                                            $0.system = "http://loinc.org"
                                            $0.code = "11502-2"
                                        }
                                        $0.mimeType = "application/pdf"
                                        $0.createdAt = Google_Protobuf_Timestamp(date: Date() - Double(n * 86_400))
                                    }
                                    $0.content = pool.content(size, seed: index &+ n)
                                })
                                documents += 1
                                bytes += size
                            }
                            if index % 10_000 == 0 && index > 0 {
                                let seconds = Measurement.micros(ContinuousClock.now - started) / 1e6
                                print(String(format: "  %d records in %.0f s", index, seconds))
                            }
                        }
                        return (records, documents, bytes)
                    }
                }
            }
            var totals = (records: 0, documents: 0, bytes: 0)
            for try await part in group {
                totals.records += part.records
                totals.documents += part.documents
                totals.bytes += part.bytes
            }
            return totals
        }
        for client in clients { await client.close() }
        let seconds = Measurement.micros(ContinuousClock.now - started) / 1e6
        print(String(
            format: "loaded %d records and %d documents (%.1f MB of content) in %.0f s: %.0f records/s, %.0f documents/s, %.1f MB/s",
            totals.records, totals.documents, Double(totals.bytes) / 1e6, seconds,
            Double(totals.records) / seconds, Double(totals.documents) / seconds, Double(totals.bytes) / 1e6 / seconds))
        print("{\"operation\":\"load\",\"records\":\(totals.records),\"documents\":\(totals.documents),\"content_bytes\":\(totals.bytes),\"seconds\":\(Int(seconds))}")
    }
}

/// Contents made once per size class and varied by a prefix, so the loader does not spend its
/// time generating bytes (contents stay distinct: each starts with its seed).
final class BytePool: Sendable {
    private let base = Calls.content(256 << 10, seed: 5)

    func content(_ size: Int, seed: Int) -> Data {
        var data = base.prefix(size)
        withUnsafeBytes(of: seed) { data.replaceSubrange(0..<min(8, size), with: $0.prefix(min(8, size))) }
        return data
    }
}

/// Hands out record indexes to the loader's workers.
final class Counter: Sendable {
    private let value: Atomic<Int>
    init(_ start: Int) { value = Atomic(start) }
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
