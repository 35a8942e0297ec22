import Crypto
import DossierClient
import Foundation

/// Moving contents in bounded memory: one call up to 3 MiB, otherwise a resumable upload read
/// from the file chunk by chunk; downloads by ranges written as they come, hashed on the way.
enum Transfer {
    static let inlineLimit = 3 << 20

    /// What is read from a file at a time.
    static let readSize = 1 << 20

    /// Upload chunks sent before the first is acknowledged.
    static let chunksInFlight = 4

    /// A file to send: its size and SHA-256, computed by reading it once, chunk by chunk.
    struct Source {
        let path: String
        let size: Int
        let sha256: [UInt8]

        init(path: String) throws {
            self.path = path
            let handle = try Self.open(path)
            defer { try? handle.close() }
            var hasher = SHA256()
            var size = 0
            do {
                while let data = try handle.read(upToCount: Transfer.readSize), !data.isEmpty {
                    hasher.update(data: data)
                    size += data.count
                }
            } catch {
                throw CLIFailure.file(path, error)
            }
            self.size = size
            self.sha256 = Array(hasher.finalize())
        }

        static func open(_ path: String) throws -> FileHandle {
            do {
                return try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            } catch {
                throw CLIFailure.file(path, error)
            }
        }

        /// `count` bytes from `offset` (fewer only if the file shrank since it was hashed).
        func read(_ handle: FileHandle, at offset: Int, count: Int) throws -> Data {
            do {
                try handle.seek(toOffset: UInt64(offset))
                var data = Data()
                while data.count < count, let more = try handle.read(upToCount: count - data.count), !more.isEmpty {
                    data += more
                }
                return data
            } catch {
                throw CLIFailure.file(path, error)
            }
        }
    }

    static func store(
        _ client: DossierClient, patientID: String, submission: Dossier_V1_DocumentSubmission, source: Source,
        replaces: String?, options: RPCCallOptions
    ) async throws -> Dossier_V1_Document {
        let handle = try Source.open(source.path)
        defer { try? handle.close() }
        if source.size <= inlineLimit {
            let content = try source.read(handle, at: 0, count: source.size)
            if let replaces {
                return try await client.documents.replaceDocument(.with {
                    $0.patientID = patientID
                    $0.documentID = replaces
                    $0.submission = submission
                    $0.content = content
                    $0.expectedSha256 = Data(source.sha256)
                }, options: options).document
            }
            return try await client.documents.depositDocument(.with {
                $0.patientID = patientID
                $0.submission = submission
                $0.content = content
                $0.expectedSha256 = Data(source.sha256)
            }, options: options).document
        }
        let created = try await client.documents.createUpload(.with {
            $0.patientID = patientID
            $0.submission = submission
            $0.declaredSize = UInt64(source.size)
            $0.expectedSha256 = Data(source.sha256)
            $0.replacesDocumentID = replaces ?? ""
        }, options: options)
        if created.hasExistingDocument { return created.existingDocument }
        let session = created.upload
        // A session created earlier with the same client id resumes where it stopped.
        var offset = Int(session.committedSize)
        let chunk = Int(session.maxChunkSize == 0 ? 1 << 20 : session.maxChunkSize)
        // Several chunks in flight (the server applies them in offset order): the next ones
        // travel while the server makes the previous ones durable. At most `chunksInFlight`
        // chunks are in memory.
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            func send() throws {
                let start = offset
                let end = min(source.size, start + chunk)
                offset = end
                let data = try source.read(handle, at: start, count: end - start)
                group.addTask {
                    try await client.documents.uploadChunk(.with {
                        $0.uploadID = session.uploadID
                        $0.offset = UInt64(start)
                        $0.data = data
                    }, options: options).committedSize
                }
            }
            var inFlight = 0
            while offset < source.size && inFlight < chunksInFlight {
                try send()
                inFlight += 1
            }
            var shown: UInt64 = 0
            for try await committed in group {
                shown = max(shown, committed)
                Output.progress(shown, of: UInt64(source.size), "upload")
                if offset < source.size { try send() }
            }
        }
        return try await client.documents.completeUpload(.with { $0.uploadID = session.uploadID }, options: options).document
    }

    /// Writes the document's content to `sink` range by range and checks its SHA-256 on the
    /// way; a mismatch is an integrity failure. Returns the size and the verified hash.
    static func fetch(
        _ client: DossierClient, patientID: String, documentID: String, to sink: FileHandle, sinkName: String,
        options: RPCCallOptions
    ) async throws -> (size: UInt64, sha256: Data) {
        var size: UInt64 = 0
        var hasher = SHA256()
        while true {
            let range = try await client.documents.readDocumentContent(.with {
                $0.patientID = patientID
                $0.documentID = documentID
                $0.offset = size
            }, options: options)
            do {
                try sink.write(contentsOf: range.data)
            } catch {
                throw CLIFailure.file(sinkName, error)
            }
            size += UInt64(range.data.count)
            hasher.update(data: range.data)
            if range.totalSize > UInt64(inlineLimit) { Output.progress(size, of: range.totalSize, "download") }
            if range.eof {
                guard Data(hasher.finalize()) == range.sha256 else {
                    throw CLIFailure.integrity("the downloaded content does not match the document's SHA-256")
                }
                return (size, range.sha256)
            }
            guard !range.data.isEmpty else { throw CLIFailure.integrity("the server sent an empty range before the end") }
        }
    }
}
