import Crypto
import DossierClient
import Foundation
import SwiftProtobuf

/// One kind of call the load generator makes, and what it needs prepared.
enum Operation: String, CaseIterable, Sendable {
    case health
    case openRecord = "open-record"
    case getRecord = "get-record"
    case deposit4k = "deposit-4k"
    case deposit64k = "deposit-64k"
    case deposit1m = "deposit-1m"
    case upload8m = "upload-8m"
    case getDocument = "get-document"
    case read4k = "read-4k"
    case readContent = "read-content"
    case find
    case overview
    case listLog = "list-log"
    case statistics

    /// The development certificate it calls with (certs/dev).
    var role: String {
        switch self {
        case .getRecord, .listLog: "patient-alice"
        case .openRecord, .statistics: "operator-helpdesk"
        default: "professional-gp"
        }
    }

    /// Content bytes moved per call (for MB/s).
    var payloadBytes: Int {
        switch self {
        case .deposit4k, .read4k: 4 << 10
        case .deposit64k, .readContent: 64 << 10
        case .deposit1m: 1 << 20
        case .upload8m: 8 << 20
        default: 0
        }
    }

    /// Needs a document id of the record (taken from a first, unmeasured search when the
    /// records come from a loaded population).
    var needsDocument: Bool { self == .getDocument || self == .read4k }

    /// Works on the worker's own record (prepared before the measurement).
    var usesWorkerRecord: Bool {
        switch self {
        case .health, .openRecord, .getRecord, .listLog, .statistics: false
        default: true
        }
    }

    var what: String {
        switch self {
        case .health: "Health.Check: TLS, framing, dispatch, no storage"
        case .openRecord: "OpenRecord of a new patient: record + chained log entry, one synced batch"
        case .getRecord: "GetRecord of one hot record by every worker, a synced log entry each"
        case .deposit4k, .deposit64k, .deposit1m: "DepositDocument (sealed content, indexes, log entry, notification), one synced batch"
        case .upload8m: "an 8 MiB document by CreateUpload, 8 chunks of 1 MiB in flight at once, CompleteUpload"
        case .getDocument: "GetDocument metadata, logged durably"
        case .read4k: "ReadDocumentContent of a whole 4 KiB document, logged durably"
        case .readContent: "ReadDocumentContent of 64 KiB of a 1 MiB document, logged durably"
        case .find: "FindDocuments, first page of 20, logged durably"
        case .overview: "GetRecordOverview (counts per class, timeline page of 20), logged durably"
        case .listLog: "ListAccessLog, first page of 20, by the patient of the one hot record (only patients and delegates read a log; reading it is logged)"
        case .statistics: "GetStatistics by an operator: every figure now and 12 monthly buckets (its cost is what it reads)"
        }
    }
}

/// A weighted mix of operations, e.g. `deposit-4k=1,get-document=4,find=2`; each worker walks
/// the same deterministic sequence, starting at its own offset.
struct Mix: Sendable {
    let sequence: [Operation]
    let operations: [Operation]

    init(_ text: String) throws {
        var sequence: [Operation] = []
        var operations: [Operation] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=")
            guard let operation = Operation(rawValue: String(pieces[0])),
                  pieces.count <= 2, let weight = pieces.count == 2 ? Int(pieces[1]) : 1, (1...100).contains(weight)
            else {
                throw BenchError("bad mix entry '\(part)': use name[=weight 1-100] with names \(Operation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            operations.append(operation)
            sequence += Array(repeating: operation, count: weight)
        }
        guard !sequence.isEmpty else { throw BenchError("the mix is empty") }
        // Interleave so that a weight-4 operation is not four calls in a row.
        self.sequence = sequence.enumerated().sorted { ($0.offset * 7919) % sequence.count < ($1.offset * 7919) % sequence.count }.map(\.element)
        self.operations = operations
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The calls themselves. Each worker (connection × slot) has its own record, opened with the
/// GP as referring physician, so calls measure the server rather than one record's lock.
enum Calls {
    static let hotPatient = "1985010112345"

    static func patient(_ worker: Int) -> String {
        "b\(ProcessInfo.processInfo.processIdentifier)w\(worker)"
    }

    static func submission(_ id: String) -> Dossier_V1_DocumentSubmission {
        .with {
            $0.clientUniqueID = id
            $0.title = "Benchmark report"
            $0.documentClass = .labResult
            $0.typeCode = .with {
                $0.system = "http://loinc.org"
                $0.code = "11502-2"
            }
            $0.mimeType = "application/pdf"
            $0.createdAt = Google_Protobuf_Timestamp(date: Date())
        }
    }

    /// What each worker's record holds for the reading operations.
    struct Prepared: Sendable {
        var small: String = ""
        var large: String = ""
    }

    /// Opens the workers' records (operator) and deposits `documents` 4 KiB documents and, when
    /// `large`, one 1 MiB document in each (GP).
    static func prepare(
        workers: [Int], operatorClient: DossierClient, gp: DossierClient, documents: Int, large: Bool
    ) async throws -> [Int: Prepared] {
        var prepared: [Int: Prepared] = [:]
        let small = content(4 << 10, seed: 1)
        for worker in workers {
            _ = try await operatorClient.records.openRecord(.with {
                $0.patientID = patient(worker)
                $0.enrollment = .referringPhysician
                $0.referringPhysicianID = "gp-1001"
                $0.skipObjectionPeriod = true
            })
            var entry = Prepared()
            for index in 0..<documents {
                let document = try await gp.documents.depositDocument(.with {
                    $0.patientID = patient(worker)
                    $0.submission = submission("seed-\(index)")
                    $0.content = small
                }).document
                if index == 0 { entry.small = document.documentID }
            }
            if large {
                entry.large = try await gp.documents.depositDocument(.with {
                    $0.patientID = patient(worker)
                    $0.submission = submission("seed-large")
                    $0.content = content(1 << 20, seed: 2)
                }).document.documentID
            }
            prepared[worker] = entry
        }
        return prepared
    }

    static func content(_ size: Int, seed: Int) -> Data {
        Data((0..<size).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 31) })
    }

    static func call(
        _ operation: Operation, _ client: DossierClient, worker: Int, sequence: Int, prepared: Prepared?, payloads: Payloads,
        patient chosen: String? = nil
    ) async throws {
        let patient = chosen ?? patient(worker)
        switch operation {
        case .health:
            _ = try await client.health.check(.init())
        case .getRecord:
            _ = try await client.records.getRecord(.with { $0.patientID = hotPatient })
        case .openRecord:
            _ = try await client.records.openRecord(.with {
                $0.patientID = "o\(ProcessInfo.processInfo.processIdentifier)w\(worker)s\(sequence)"
                $0.enrollment = .volunteer
            })
        case .deposit4k, .deposit64k, .deposit1m:
            _ = try await client.documents.depositDocument(.with {
                $0.patientID = patient
                $0.submission = submission("bench-\(ProcessInfo.processInfo.processIdentifier)-\(worker)-\(sequence)")
                $0.content = payloads.content(operation.payloadBytes)
            })
        case .upload8m:
            try await upload(client, patient: patient, name: "up-\(ProcessInfo.processInfo.processIdentifier)-\(worker)-\(sequence)",
                             content: payloads.content(operation.payloadBytes), sha256: payloads.sha256(operation.payloadBytes))
        case .getDocument:
            _ = try await client.documents.getDocument(.with {
                $0.patientID = patient
                $0.documentID = prepared?.small ?? ""
            })
        case .read4k:
            _ = try await client.documents.readDocumentContent(.with {
                $0.patientID = patient
                $0.documentID = prepared?.small ?? ""
            })
        case .readContent:
            _ = try await client.documents.readDocumentContent(.with {
                $0.patientID = patient
                $0.documentID = prepared?.large ?? ""
                $0.offset = UInt64((sequence % 16) << 16)
                $0.length = 64 << 10
            })
        case .find:
            _ = try await client.documents.findDocuments(.with {
                $0.patientID = patient
                $0.pageSize = 20
            })
        case .overview:
            _ = try await client.documents.getRecordOverview(.with {
                $0.patientID = patient
                $0.pageSize = 20
            })
        case .listLog:
            _ = try await client.accessLog.listAccessLog(.with {
                $0.patientID = hotPatient
                $0.pageSize = 20
            })
        case .statistics:
            _ = try await client.statistics.getStatistics(.init())
        }
    }
}

extension Calls {
    /// One resumable upload with all its chunks in flight at once (the server applies them in
    /// offset order), then completed.
    static func upload(_ client: DossierClient, patient: String, name: String, content: Data, sha256: Data) async throws {
        let created = try await client.documents.createUpload(.with {
            $0.patientID = patient
            $0.submission = submission(name)
            $0.declaredSize = UInt64(content.count)
            $0.expectedSha256 = sha256
        })
        let chunk = Int(created.upload.maxChunkSize == 0 ? 1 << 20 : created.upload.maxChunkSize)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: content.count, by: chunk) {
                group.addTask {
                    _ = try await client.documents.uploadChunk(.with {
                        $0.uploadID = created.upload.uploadID
                        $0.offset = UInt64(start)
                        $0.data = content[start..<min(content.count, start + chunk)]
                    })
                }
            }
            try await group.waitForAll()
        }
        _ = try await client.documents.completeUpload(.with { $0.uploadID = created.upload.uploadID })
    }
}

/// Deposit and upload contents, made once (the client copies none per call).
struct Payloads: Sendable {
    private let bySize: [Int: (content: Data, sha256: Data)]

    init() {
        bySize = Dictionary(uniqueKeysWithValues: [4 << 10, 64 << 10, 1 << 20, 8 << 20].map { size in
            let content = Calls.content(size, seed: 3)
            return (size, (content, Data(SHA256.hash(data: content))))
        })
    }

    func content(_ size: Int) -> Data { bySize[size]?.content ?? Data(count: size) }
    func sha256(_ size: Int) -> Data { bySize[size]?.sha256 ?? Data(SHA256.hash(data: Data(count: size))) }
}
