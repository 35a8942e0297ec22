import ArgumentParser
import Crypto
import DossierClient
import DossierFHIR
import Foundation

/// `dossier record export` / `import`: the record's copy in FHIR R4 (a ZIP of bundle.json and
/// the contents, decision 0007) and its import into a fresh record of another service.
struct RecordExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Download the whole record as FHIR R4 (patient or delegate): a ZIP of bundle.json and documents/<id>.",
        discussion: "Every document's SHA-256 and size are checked as it arrives; the file appears only when all were verified. A progress bar is drawn on a terminal.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The patient's identifier.") var patientID: String
    @Option(name: .shortAndLong, help: "The ZIP to write.") var output: String

    func run() async throws {
        let partial = output + ".partial"
        let writer = try ExportArchiveWriter(path: partial)
        let showProgress = isatty(STDERR_FILENO) == 1
        var summary = (documents: 0, bytes: UInt64(0), bundle: UInt64(0), expected: UInt32(0))
        do {
            try await connection.withClient { client in
                var token = ""
                var current: (path: String, written: UInt64, hasher: SHA256)?
                repeat {
                    let page = try await client.portability.exportRecord(.with {
                        $0.patientID = patientID
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    for piece in page.pieces {
                        if current?.path != piece.path {
                            guard current == nil, piece.offset == 0 else { throw CLIFailure.integrity("the export skipped a part of \(piece.path)") }
                            try writer.begin(piece.path)
                            current = (piece.path, 0, SHA256())
                        }
                        guard piece.offset == current!.written else { throw CLIFailure.integrity("a piece of \(piece.path) is out of order") }
                        try writer.write([UInt8](piece.data))
                        current!.hasher.update(data: piece.data)
                        current!.written += UInt64(piece.data.count)
                        guard piece.last else { continue }
                        if piece.path == "bundle.json" {
                            summary.bundle = current!.written
                        } else {
                            guard current!.written == piece.totalSize, Data(current!.hasher.finalize()) == piece.sha256 else {
                                throw CLIFailure.integrity("\(piece.path) does not match its SHA-256: the export is not written")
                            }
                            summary.documents += 1
                            summary.bytes += current!.written
                        }
                        try writer.end()
                        current = nil
                    }
                    summary.expected = page.documentCount
                    if showProgress, page.contentBytesTotal > 0 {
                        Output.progress(page.contentBytesDone, of: page.contentBytesTotal, "export")
                    }
                    token = page.nextPageToken
                } while !token.isEmpty
                guard current == nil else { throw CLIFailure.integrity("the export ended inside \(current!.path)") }
            }
            guard summary.documents == Int(summary.expected) else {
                throw CLIFailure.integrity("\(summary.documents) of \(summary.expected) documents arrived")
            }
            try writer.finish()
            if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
            try FileManager.default.moveItem(atPath: partial, toPath: output)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        print("\(output): bundle.json (\(summary.bundle) bytes) and \(summary.documents) documents (\(summary.bytes) bytes), every SHA-256 verified")
    }
}

struct RecordImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an export's documents into a fresh record (operator or patient).",
        discussion: "The record must exist (open or activate it first) and hold no document. Documents keep their ids, metadata, authors and times; AuditEvent and Consent resources are not imported (decision 0007).")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The patient's identifier.") var patientID: String
    @Option(name: .shortAndLong, help: "The export's ZIP.") var input: String

    func run() async throws {
        let archive = try ExportArchiveReader(path: input)
        guard let bundleEntry = archive.entry("bundle.json") else { throw CLIFailure.usage("\(input) has no bundle.json") }
        let bundleBytes = try archive.read(bundleEntry, offset: 0, length: Int(bundleEntry.size))
        guard let bundle = try JSONSerialization.jsonObject(with: Data(bundleBytes)) as? [String: Any],
            let entries = bundle["entry"] as? [[String: Any]]
        else { throw CLIFailure.usage("bundle.json is not a FHIR Bundle") }
        let resources = entries.compactMap { $0["resource"] as? [String: Any] }
        let documents = resources.filter { $0["resourceType"] as? String == "DocumentReference" }
        let showProgress = isatty(STDERR_FILENO) == 1
        var imported = 0
        try await connection.withClient { client in
            var token = ""
            func send(_ resource: [String: Any], content: [UInt8]? = nil, uploadID: String = "") async throws -> Dossier_V1_ImportRecordResponse {
                let json = try JSONSerialization.data(withJSONObject: resource, options: [.sortedKeys])
                let response = try await client.portability.importRecord(.with {
                    $0.patientID = patientID
                    $0.resourceJson = json
                    $0.content = Data(content ?? [])
                    $0.uploadID = uploadID
                    $0.importToken = token
                }, options: connection.callOptions)
                token = response.importToken
                return response
            }
            if let patient = resources.first(where: { $0["resourceType"] as? String == "Patient" }) { _ = try await send(patient) }
            for (index, document) in documents.enumerated() {
                guard let id = document["id"] as? String, let file = archive.entry("documents/\(id)") else {
                    throw CLIFailure.usage("document \(index + 1) has no content in the archive")
                }
                var response: Dossier_V1_ImportRecordResponse
                if file.size <= 1 << 20 {
                    response = try await send(document, content: try archive.read(file, offset: 0, length: Int(file.size)))
                } else {
                    response = try await send(document)
                    if response.result == .uploadRequired {
                        let session = response.upload
                        var offset = session.committedSize
                        let chunk = Int(session.maxChunkSize == 0 ? 1 << 20 : session.maxChunkSize)
                        while offset < file.size {
                            let data = try archive.read(file, offset: offset, length: chunk)
                            offset = try await client.documents.uploadChunk(.with {
                                $0.uploadID = session.uploadID
                                $0.offset = offset
                                $0.data = Data(data)
                            }, options: connection.callOptions).committedSize
                            if showProgress { Output.progress(offset, of: file.size, "document \(index + 1)/\(documents.count)") }
                        }
                        response = try await send(document, uploadID: session.uploadID)
                    }
                }
                guard response.result == .imported else { throw CLIFailure(ExitStatus.refused, "document \(id) was not imported") }
                imported += 1
            }
        }
        let others = resources.count - documents.count
        print("\(imported) documents imported into \(patientID); \(others) other resources (Patient, AuditEvent, Consent) not imported")
    }
}
