import Crypto
import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing
import SwiftProtobuf

/// Shared steps of the document tests: submissions, grants, and collecting error statuses.
enum Docs {
    static let alice = "1985010112345"

    static func submission(
        _ clientID: String, _ documentClass: Dossier_V1_DocumentClass = .labResult, title: String = "Blood count",
        categories: [Dossier_V1_SensitiveCategory] = [], confidentiality: Dossier_V1_ConfidentialityLevel = .unspecified,
        hidden: Bool = false, mime: String = "application/pdf", created: Date = Date(timeIntervalSince1970: 1_790_000_000)
    ) -> Dossier_V1_DocumentSubmission {
        .with {
            $0.clientUniqueID = clientID
            $0.title = title
            $0.documentClass = documentClass
            $0.sensitiveCategories = categories
            $0.typeCode = .with {
                $0.system = "http://loinc.org"
                $0.code = documentClass == .labResult ? "11502-2" : "11488-4"
            }
            $0.mimeType = mime
            $0.createdAt = Google_Protobuf_Timestamp(date: created)
            $0.confidentiality = confidentiality
            $0.hiddenFromPatient = hidden
        }
    }

    @discardableResult
    static func deposit(
        _ client: DossierClient, _ submission: Dossier_V1_DocumentSubmission, content: [UInt8] = Array("report".utf8),
        patient: String = alice
    ) async throws -> Dossier_V1_Document {
        try await client.documents.depositDocument(.with {
            $0.patientID = patient
            $0.submission = submission
            $0.content = Data(content)
            $0.expectedSha256 = Data(SHA256.hash(data: content))
        }).document
    }

    static func grant(
        _ patient: DossierClient, to id: String, kind: Dossier_V1_PrincipalKind = .professional,
        scope: Dossier_V1_AccessScope = .standard, mode: Dossier_V1_AccessMode = .read
    ) async throws {
        _ = try await patient.access.grantAccess(.with {
            $0.patientID = alice
            $0.grantee = .with {
                $0.kind = kind
                $0.id = id
            }
            $0.scope = scope
            $0.mode = mode
        })
    }

    static func find(_ client: DossierClient, _ configure: (inout Dossier_V1_FindDocumentsRequest) -> Void = { _ in }) async throws -> [String] {
        var request = Dossier_V1_FindDocumentsRequest()
        request.patientID = alice
        configure(&request)
        return try await client.documents.findDocuments(request).documents.map(\.documentID)
    }

    static func get(_ client: DossierClient, _ id: String) async throws -> Dossier_V1_Document {
        try await client.documents.getDocument(.with {
            $0.patientID = alice
            $0.documentID = id
        }).document
    }

    /// The status a call failed with (nil when it succeeded). Any other error (a closed
    /// connection, a refused handshake) fails the test: use `Outcome` to expect those.
    static func status(
        _ call: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
    ) async -> RPCStatusError? {
        do {
            try await call()
            return nil
        } catch let error as RPCStatusError {
            return error
        } catch {
            Issue.record("the call failed without an RPC status: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Reads a whole content in ranges of `step` bytes.
    static func download(_ client: DossierClient, _ id: String, step: UInt32 = 1 << 20) async throws -> (bytes: [UInt8], sha256: [UInt8]) {
        var bytes: [UInt8] = []
        var sha: [UInt8] = []
        while true {
            let range = try await client.documents.readDocumentContent(.with {
                $0.patientID = alice
                $0.documentID = id
                $0.offset = UInt64(bytes.count)
                $0.length = step
            })
            bytes += range.data
            sha = [UInt8](range.sha256)
            if range.eof { return (bytes, sha) }
        }
    }

    static func log(_ client: DossierClient) async throws -> [Dossier_V1_AccessLogEntry] {
        try await client.accessLog.listAccessLog(.with {
            $0.patientID = alice
            $0.oldestFirst = true
            $0.pageSize = 500
        }).entries
    }
}
