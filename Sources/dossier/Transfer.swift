import Crypto
import DossierClient
import Foundation

/// Moving contents: one call up to 3 MiB, otherwise a resumable upload; downloads by ranges.
enum Transfer {
    static let inlineLimit = 3 << 20

    static func store(
        _ client: DossierClient, patientID: String, submission: Dossier_V1_DocumentSubmission, content: [UInt8],
        sha256: [UInt8], replaces: String?, options: RPCCallOptions
    ) async throws -> Dossier_V1_Document {
        if content.count <= inlineLimit {
            if let replaces {
                return try await client.documents.replaceDocument(.with {
                    $0.patientID = patientID
                    $0.documentID = replaces
                    $0.submission = submission
                    $0.content = Data(content)
                    $0.expectedSha256 = Data(sha256)
                }, options: options).document
            }
            return try await client.documents.depositDocument(.with {
                $0.patientID = patientID
                $0.submission = submission
                $0.content = Data(content)
                $0.expectedSha256 = Data(sha256)
            }, options: options).document
        }
        let created = try await client.documents.createUpload(.with {
            $0.patientID = patientID
            $0.submission = submission
            $0.declaredSize = UInt64(content.count)
            $0.expectedSha256 = Data(sha256)
            $0.replacesDocumentID = replaces ?? ""
        }, options: options)
        if created.hasExistingDocument { return created.existingDocument }
        let session = created.upload
        // A session created earlier with the same client id resumes where it stopped.
        var offset = Int(session.committedSize)
        let chunk = Int(session.maxChunkSize == 0 ? 1 << 20 : session.maxChunkSize)
        // Several chunks in flight (the server applies them in offset order): the next ones
        // travel while the server makes the previous ones durable.
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            func send() {
                let start = offset
                let end = min(content.count, start + chunk)
                offset = end
                group.addTask {
                    try await client.documents.uploadChunk(.with {
                        $0.uploadID = session.uploadID
                        $0.offset = UInt64(start)
                        $0.data = Data(content[start..<end])
                    }, options: options).committedSize
                }
            }
            var inFlight = 0
            while offset < content.count && inFlight < chunksInFlight {
                send()
                inFlight += 1
            }
            var shown: UInt64 = 0
            for try await committed in group {
                shown = max(shown, committed)
                Output.progress(shown, of: UInt64(content.count), "upload")
                if offset < content.count { send() }
            }
        }
        return try await client.documents.completeUpload(.with { $0.uploadID = session.uploadID }, options: options).document
    }

    /// Upload chunks sent before the first is acknowledged.
    static let chunksInFlight = 4

    static func fetch(_ client: DossierClient, patientID: String, documentID: String, options: RPCCallOptions) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var hasher = SHA256()
        while true {
            let range = try await client.documents.readDocumentContent(.with {
                $0.patientID = patientID
                $0.documentID = documentID
                $0.offset = UInt64(bytes.count)
            }, options: options)
            bytes += range.data
            hasher.update(data: range.data)
            if range.totalSize > UInt64(inlineLimit) { Output.progress(UInt64(bytes.count), of: range.totalSize, "download") }
            if range.eof {
                guard Data(hasher.finalize()) == range.sha256 else {
                    throw TransferError("the downloaded content does not match the document's SHA-256")
                }
                return bytes
            }
            guard !range.data.isEmpty else { throw TransferError("the server sent an empty range before the end") }
        }
    }
}

struct TransferError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
