import DossierClient
import Foundation
import SwiftProtobuf

/// Document workloads: each worker (connection × slot) has its own record, opened with the
/// GP as referring physician, so that calls measure the server, not one record's lock.
enum DocumentWorkloads {
    static let operations = ["deposit", "find", "read-content"]

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

    /// Opens the workers' records (as the operator) and deposits `documents` documents of
    /// `size` bytes in each (as the GP).
    static func prepare(
        workers: [Int], operatorClient: DossierClient, gp: DossierClient, documents: Int, size: Int
    ) async throws -> [Int: String] {
        var firstDocument: [Int: String] = [:]
        let content = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        for worker in workers {
            _ = try await operatorClient.records.openRecord(.with {
                $0.patientID = patient(worker)
                $0.enrollment = .referringPhysician
                $0.referringPhysicianID = "gp-1001"
                $0.skipObjectionPeriod = true
            })
            for index in 0..<documents {
                let document = try await gp.documents.depositDocument(.with {
                    $0.patientID = patient(worker)
                    $0.submission = submission("seed-\(index)")
                    $0.content = content
                }).document
                if index == 0 { firstDocument[worker] = document.documentID }
            }
        }
        return firstDocument
    }

    static func call(
        _ operation: String, _ client: DossierClient, worker: Int, sequence: Int, document: String?, size: Int
    ) async throws {
        switch operation {
        case "deposit":
            _ = try await client.documents.depositDocument(.with {
                $0.patientID = patient(worker)
                $0.submission = submission("bench-\(sequence)")
                $0.content = Data(repeating: UInt8(truncatingIfNeeded: sequence), count: size)
            })
        case "find":
            _ = try await client.documents.findDocuments(.with {
                $0.patientID = patient(worker)
                $0.pageSize = 20
            })
        case "read-content":
            _ = try await client.documents.readDocumentContent(.with {
                $0.patientID = patient(worker)
                $0.documentID = document ?? ""
                $0.length = 64 << 10
            })
        default:
            fatalError("not a document workload: \(operation)")
        }
    }
}
