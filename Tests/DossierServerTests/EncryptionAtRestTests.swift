import Crypto
import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Contents, titles and client ids are sealed on disk: a unique marker written through the API
/// appears in no file of the data directory (WAL, SST, MANIFEST, …), while the documents read
/// back intact after a restart.
@Suite struct EncryptionAtRestTests {
    static func files(under directory: String) -> [String] {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: directory) else { return [] }
        return enumerator.compactMap { $0 as? String }.map { directory + "/" + $0 }.filter { path in
            var isDirectory: ObjCBool = false
            return manager.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    static func occurrences(of marker: String, under directory: String) -> [String] {
        occurrences(of: Array(marker.utf8), under: directory)
    }

    static func occurrences(of bytes: [UInt8], under directory: String) -> [String] {
        let needle = Data(bytes)
        return files(under: directory).filter { path in
            guard let data = FileManager.default.contents(atPath: path) else { return false }
            return data.range(of: needle) != nil
        }
    }

    @Test func aMarkerInTitlesContentsAndClientIDsIsNowhereOnDisk() async throws {
        let marker = "ZQX-\(UUID().uuidString)-HIV-POSITIVE"
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)

        let small = Array("result: \(marker)".utf8)
        let document = try await Docs.deposit(gp, Docs.submission("id-\(marker)", title: "Title \(marker)"), content: small)
        let large = [UInt8]((0..<(2 << 20)).map { _ in UInt8.random(in: 0...255) }) + Array(marker.utf8)
        let session = try await gp.documents.createUpload(.with {
            $0.patientID = Docs.alice
            $0.submission = Docs.submission("upload-\(marker)", .imaging, title: "Scan \(marker)")
            $0.declaredSize = UInt64(large.count)
            $0.expectedSha256 = Data(SHA256.hash(data: large))
        }).upload
        var offset = 0
        while offset < large.count {
            let end = min(large.count, offset + (1 << 20))
            _ = try await gp.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.offset = UInt64(offset)
                $0.data = Data(large[offset..<end])
            })
            offset = end
        }
        let uploaded = try await gp.documents.completeUpload(.with { $0.uploadID = session.uploadID }).document
        await server.stop(removeData: false)

        // What a thief copies: the data directory, or, on PostgreSQL, the cluster's (tables and WAL).
        let disk = TestStorage.postgresDirectory ?? server.dataDirectory
        #expect(Self.occurrences(of: marker, under: disk).isEmpty)
        #expect(Self.occurrences(of: Docs.alice, under: disk).isEmpty)
        // The scan does find what is stored in clear (document ids in keys, DATA-MODEL.md).
        #expect(!Self.occurrences(of: document.documentID, under: disk).isEmpty)

        let restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let reader = try await restarted.connect(kind: "patient", id: Docs.alice)
        #expect(try await Docs.download(reader, document.documentID).bytes == small)
        #expect(try await Docs.download(reader, uploaded.documentID).bytes == large)
        #expect(try await Docs.get(reader, document.documentID).title == "Title \(marker)")
        await restarted.stop()
    }

    @Test func aSealedValueMovedToAnotherKeyDoesNotOpen() async throws {
        // Covered at the store level: values are bound to their RocksDB key (AES-GCM additional
        // data), so swapping two documents' values makes both unreadable rather than mixed up.
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let first = try await Docs.deposit(patient, Docs.submission("n1", .patientProvided, title: "Note one"))
        let second = try await Docs.deposit(patient, Docs.submission("n2", .patientProvided, title: "Note two"))
        await server.stop(removeData: false)
        try swapDocumentValues(in: server.dataDirectory, first.documentID, second.documentID)
        let restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let reader = try await restarted.connect(kind: "patient", id: Docs.alice)
        let status = await Docs.status { _ = try await Docs.get(reader, first.documentID) }
        #expect(status?.code == .internal)
        await restarted.stop()
    }
}
