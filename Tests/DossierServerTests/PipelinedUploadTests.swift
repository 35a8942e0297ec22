import Crypto
import DossierClient
import DossierCore
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Several chunks of one upload in flight at once: applied in offset order whatever order
/// they arrive in, with the running hash matching what was stored.
@Suite struct PipelinedUploadTests {
    let alice = Docs.alice

    /// A record with a GP allowed to write, and a started upload of `content`.
    private func start(
        _ server: TestServer, _ content: [UInt8], clientID: String, expected: [UInt8]? = nil
    ) async throws -> (gp: DossierClient, uploadID: String) {
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        await patient.close()
        await helpdesk.close()
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let session = try await gp.documents.createUpload(.with {
            $0.patientID = alice
            $0.submission = Docs.submission(clientID)
            $0.declaredSize = UInt64(content.count)
            $0.expectedSha256 = Data(expected ?? Array(SHA256.hash(data: content)))
        }).upload
        return (gp, session.uploadID)
    }

    private func chunk(_ gp: DossierClient, _ uploadID: String, _ content: [UInt8], at offset: Int, size: Int) async throws {
        _ = try await gp.documents.uploadChunk(.with {
            $0.uploadID = uploadID
            $0.offset = UInt64(offset)
            $0.data = Data(content[offset..<min(content.count, offset + size)])
        })
    }

    private func open(_ gp: DossierClient, clientID: String, size: Int) async throws -> String {
        try await gp.documents.createUpload(.with {
            $0.patientID = alice
            $0.submission = Docs.submission(clientID)
            $0.declaredSize = UInt64(size)
        }).upload.uploadID
    }

    private func complete(_ client: DossierClient, _ uploadID: String, expecting content: [UInt8]) async throws -> Dossier_V1_Document {
        try await client.documents.completeUpload(.with {
            $0.uploadID = uploadID
            $0.expectedSha256 = Data(SHA256.hash(data: content))
        }).document
    }

    private func readBack(_ client: DossierClient, _ document: Dossier_V1_Document) async throws -> Data {
        try await client.documents.readDocumentContent(.with {
            $0.patientID = alice
            $0.documentID = document.documentID
            $0.length = UInt32(document.sizeBytes)
        }).data
    }

    private static func content(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ ($0 >> 9)) }
    }

    @Test func chunksSentLastFirstAreAppliedInOffsetOrder() async throws {
        let server = try await TestServer()
        let size = 64 << 10
        let content = Self.content(12 * size + 123, seed: 1)
        let (gp, uploadID) = try await start(server, content, clientID: "pipelined-1")
        // Every chunk is sent at once, the last ones first: all must wait for their turn.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for offset in stride(from: 0, to: content.count, by: size).reversed() {
                group.addTask { try await chunk(gp, uploadID, content, at: offset, size: size) }
                try await Task.sleep(for: .milliseconds(5))
            }
            try await group.waitForAll()
        }
        let upload = try await gp.documents.getUpload(.with { $0.uploadID = uploadID }).upload
        #expect(upload.committedSize == UInt64(content.count))
        let document = try await gp.documents.completeUpload(.with { $0.uploadID = uploadID }).document
        #expect(document.sha256 == Data(SHA256.hash(data: content)) && document.sizeBytes == UInt64(content.count))
        #expect(try await readBack(gp, document) == Data(content))
        await gp.close()
        await server.stop()
    }

    @Test func aChunkWhosePredecessorNeverComesIsRefusedAfterTheWait() async throws {
        var documents = DocumentPolicy()
        documents.chunkOrderWait = .milliseconds(300)
        let server = try await TestServer(documents: documents)
        let content = Self.content(3000, seed: 2)
        let (gp, uploadID) = try await start(server, content, clientID: "pipelined-2")
        try await chunk(gp, uploadID, content, at: 0, size: 1000)
        let began = ContinuousClock.now
        let skipped = await Docs.status { try await chunk(gp, uploadID, content, at: 2000, size: 1000) }
        #expect(skipped?.code == .failedPrecondition && skipped?.reason == "UPLOAD_OFFSET_MISMATCH")
        #expect(ContinuousClock.now - began >= .milliseconds(300))
        let late = await Docs.status { try await chunk(gp, uploadID, content, at: 0, size: 1000) }
        #expect(late?.code == .failedPrecondition && late?.reason == "UPLOAD_OFFSET_MISMATCH")
        let upload = try await gp.documents.getUpload(.with { $0.uploadID = uploadID }).upload
        #expect(upload.committedSize == 1000)
        // The upload goes on from the committed size.
        try await chunk(gp, uploadID, content, at: 1000, size: 1000)
        try await chunk(gp, uploadID, content, at: 2000, size: 1000)
        let document = try await gp.documents.completeUpload(.with { $0.uploadID = uploadID }).document
        #expect(document.sha256 == Data(SHA256.hash(data: content)))
        await gp.close()
        await server.stop()
    }

    /// A repeated chunk with other bytes is refused and does not enter the hash; a completion
    /// checks what was stored, with or without the running hash (lost at a restart).
    @Test func theHashCheckedAtCompletionIsTheStoredContentsBeforeAndAfterARestart() async throws {
        let pki = try TestPKI()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-data-\(UUID().uuidString)").path
        var server = try await TestServer(pki: pki, dataDirectory: directory)
        let content = Self.content(4000, seed: 3)
        var forged = content
        forged[1500] ^= 0xFF
        // Expected hash of content the client never sends: completion must refuse.
        let (gp, wrong) = try await start(server, content, clientID: "pipelined-3", expected: Array(SHA256.hash(data: forged)))
        for offset in stride(from: 0, to: content.count, by: 1000) {
            try await chunk(gp, wrong, content, at: offset, size: 1000)
        }
        let refused = await Docs.status { _ = try await gp.documents.completeUpload(.with { $0.uploadID = wrong }) }
        #expect(refused?.reason == "HASH_MISMATCH")

        // A repeated chunk carrying other bytes is refused and does not enter the running hash.
        let repeatedID = try await open(gp, clientID: "pipelined-4", size: content.count)
        try await chunk(gp, repeatedID, content, at: 0, size: 1000)
        try await chunk(gp, repeatedID, content, at: 1000, size: 1000)
        let repeated = await Docs.status { try await chunk(gp, repeatedID, forged, at: 1000, size: 1000) }
        #expect(repeated?.reason == "UPLOAD_OFFSET_MISMATCH")
        try await chunk(gp, repeatedID, content, at: 2000, size: 2000)
        let completed = try await complete(gp, repeatedID, expecting: content)
        #expect(completed.sha256 == Data(SHA256.hash(data: content)))

        // An upload completed after a restart (no running hash) is checked by reading it back.
        let sessionID = try await open(gp, clientID: "pipelined-5", size: content.count)
        for offset in stride(from: 0, to: content.count, by: 1000) {
            try await chunk(gp, sessionID, content, at: offset, size: 1000)
        }
        await gp.close()
        await server.stop(removeData: false)
        server = try await TestServer(pki: pki, dataDirectory: directory)
        let again = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let forgedHash = await Docs.status { _ = try await complete(again, sessionID, expecting: forged) }
        #expect(forgedHash?.reason == "HASH_MISMATCH")
        let document = try await complete(again, sessionID, expecting: content)
        #expect(document.sha256 == Data(SHA256.hash(data: content)))
        #expect(try await readBack(again, document) == Data(content))
        await again.close()
        await server.stop()
    }
}
