import Crypto
import DossierClient
import DossierProto
@testable import DossierStore
import DossierTestSupport
import Foundation
import RocksDB
import Testing

/// Large contents through resumable upload sessions.
@Suite struct DocumentUploadTests {
    let alice = Docs.alice

    @Test func aFortyMebibyteDICOMUploadSurvivesADroppedConnectionAndDownloadsByteIdentical() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        try await Docs.grant(patient, to: "rad-1", scope: .extended, mode: .readWrite)
        let files = try server.pki.clientFiles(kind: "professional", id: "rad-1", profession: "radiologist")

        var generator = SystemRandomNumberGenerator()
        let size = 40 << 20
        var content = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            withUnsafeBytes(of: generator.next()) { content.replaceSubrange(index..<index + 8, with: $0) }
        }
        let sha = Data(SHA256.hash(data: content))
        let submission = Docs.submission("ct-2026-7", .imaging, title: "CT thorax", mime: "application/dicom")
        let create = Dossier_V1_CreateUploadRequest.with {
            $0.patientID = alice
            $0.submission = submission
            $0.declaredSize = UInt64(size)
            $0.expectedSha256 = sha
        }

        // First connection: 17 MiB, then the connection drops.
        var radiologist = try await server.connect(files)
        let session = try #require(try await radiologist.documents.createUpload(create).upload)
        let chunk = Int(session.maxChunkSize)
        #expect(chunk == 1 << 20 && session.committedSize == 0)
        var offset = 0
        while offset < 17 << 20 {
            _ = try await radiologist.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.offset = UInt64(offset)
                $0.data = Data(content[offset..<offset + chunk])
            })
            offset += chunk
        }
        await radiologist.close()

        // Second connection: the client lost the session id; CreateUpload gives the same
        // session back, with what was committed.
        radiologist = try await server.connect(files)
        let resumed = try #require(try await radiologist.documents.createUpload(create).upload)
        #expect(resumed.uploadID == session.uploadID && resumed.committedSize == UInt64(17 << 20))
        let wrongOffset = await Docs.status {
            _ = try await radiologist.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.offset = 0
                $0.data = Data(content[0..<10])
            })
        }
        #expect(wrongOffset?.code == .failedPrecondition && wrongOffset?.reason == "UPLOAD_OFFSET_MISMATCH")
        let early = await Docs.status {
            _ = try await radiologist.documents.completeUpload(.with { $0.uploadID = session.uploadID })
        }
        #expect(early?.reason == "UPLOAD_INCOMPLETE")
        offset = Int(resumed.committedSize)
        while offset < size {
            let end = min(size, offset + chunk)
            _ = try await radiologist.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.offset = UInt64(offset)
                $0.data = Data(content[offset..<end])
            })
            offset = end
        }
        let completed = try await radiologist.documents.completeUpload(.with { $0.uploadID = session.uploadID })
        #expect(!completed.alreadyCompleted && completed.document.sizeBytes == UInt64(size) && completed.document.sha256 == sha)
        let again = try await radiologist.documents.completeUpload(.with { $0.uploadID = session.uploadID })
        #expect(again.alreadyCompleted && again.document.documentID == completed.document.documentID)
        let retried = try await radiologist.documents.createUpload(create)
        #expect(retried.existingDocument.documentID == completed.document.documentID && !retried.hasUpload)

        let (bytes, digest) = try await Docs.download(patient, completed.document.documentID)
        #expect(bytes == content && Data(digest) == sha)
        // A range in the middle, across chunk boundaries.
        let middle = try await patient.documents.readDocumentContent(.with {
            $0.patientID = alice
            $0.documentID = completed.document.documentID
            $0.offset = UInt64(3 << 20) - 7
            $0.length = 1_000
        })
        #expect([UInt8](middle.data) == Array(content[(3 << 20) - 7..<(3 << 20) + 993]) && !middle.eof)
        await server.stop()
    }

    @Test func sessionsBelongToTheirCreatorAndCheckEveryChunk() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let other = try await server.connect(kind: "professional", id: "gp-2002", profession: "gp")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "gp-2002", scope: .extended, mode: .readWrite)

        let content = Array(repeating: UInt8(7), count: 100)
        let session = try await gp.documents.createUpload(.with {
            $0.patientID = alice
            $0.submission = Docs.submission("up-1")
            $0.declaredSize = 100
        }).upload
        for call in [
            { _ = try await other.documents.getUpload(.with { $0.uploadID = session.uploadID }) },
            { _ = try await other.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.data = Data(content)
            }) },
            { _ = try await gp.documents.getUpload(.with { $0.uploadID = "u-nonexistent" }) },
        ] as [@Sendable () async throws -> Void] {
            let status = await Docs.status(call)
            #expect(status?.code == .notFound && status?.reason == "UPLOAD_NOT_FOUND")
        }
        let tooMuch = await Docs.status {
            _ = try await gp.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.data = Data(content + [1])
            })
        }
        #expect(tooMuch?.code == .invalidArgument && tooMuch?.reason == "UPLOAD_SIZE_EXCEEDED")
        _ = try await gp.documents.uploadChunk(.with {
            $0.uploadID = session.uploadID
            $0.data = Data(content)
        })
        let noHash = await Docs.status { _ = try await gp.documents.completeUpload(.with { $0.uploadID = session.uploadID }) }
        #expect(noHash?.code == .invalidArgument && noHash?.reason == "MISSING_FIELD")
        let wrongHash = await Docs.status {
            _ = try await gp.documents.completeUpload(.with {
                $0.uploadID = session.uploadID
                $0.expectedSha256 = Data(SHA256.hash(data: [1, 2, 3]))
            })
        }
        #expect(wrongHash?.code == .invalidArgument && wrongHash?.reason == "HASH_MISMATCH")
        _ = try await gp.documents.abortUpload(.with { $0.uploadID = session.uploadID })
        let gone = await Docs.status { _ = try await gp.documents.getUpload(.with { $0.uploadID = session.uploadID }) }
        #expect(gone?.code == .notFound)
        #expect(try await Docs.find(patient) == [])

        let tooLarge = await Docs.status {
            _ = try await gp.documents.createUpload(.with {
                $0.patientID = alice
                $0.submission = Docs.submission("up-2")
                $0.declaredSize = 1 << 40
            })
        }
        #expect(tooLarge?.code == .invalidArgument && tooLarge?.reason == "CONTENT_TOO_LARGE")
        await server.stop()
    }
}

/// Expired upload sessions go, with the chunks of open ones; a completed upload's document stays.
@Suite struct UploadSweepTests {
    @Test func expiredSessionsAreSweptAndCompletedContentsKept() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let content = Array(repeating: UInt8(9), count: 100_000)
        func upload(_ id: String, complete: Bool) async throws -> String? {
            let session = try await patient.documents.createUpload(.with {
                $0.patientID = Docs.alice
                $0.submission = Docs.submission(id, .patientProvided, title: "Scan")
                $0.declaredSize = UInt64(content.count)
                $0.expectedSha256 = Data(SHA256.hash(data: content))
            }).upload
            _ = try await patient.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.data = Data(complete ? content : Array(content.prefix(50_000)))
            })
            guard complete else { return nil }
            return try await patient.documents.completeUpload(.with { $0.uploadID = session.uploadID }).document.documentID
        }
        _ = try await upload("abandoned", complete: false)
        let documentID = try #require(try await upload("done", complete: true))
        await server.stop(removeData: false)

        let store = try DossierStore(configuration: TestServer.storeConfiguration(of: server.dataDirectory))
        #expect(try await store.sweepExpiredUploads(at: Date()) == 0)  // nothing expired yet
        #expect(try await store.sweepExpiredUploads(at: Date() + 2 * 86_400) == 2)
        store.close()
        let files = try StoreFiles(
            dataDirectory: server.dataDirectory, keyStorePath: TestServer.keyStorePath(of: server.dataDirectory),
            masterKey: TestServer.masterKey, engine: TestStorage.engine(forDataDirectory: server.dataDirectory))
        let pieces = try files.engine.entries(withPrefix: [], in: .contents).count
        let owners = try files.engine.entries(withPrefix: [0x7E, UInt8(ascii: "U")], in: .documents).count
        files.close()
        #expect(pieces == 2 && owners == 0)  // the document's two 64 KiB pieces; the abandoned chunk is gone

        let restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let reader = try await restarted.connect(kind: "patient", id: Docs.alice)
        #expect(try await Docs.download(reader, documentID).bytes == content)
        let statistics = try await restarted.connect(kind: "operator", id: "op-1").statistics.getStatistics(.init())
        #expect(statistics.documents.total == 1)
        await restarted.stop()
    }
}
