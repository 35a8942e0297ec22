import DossierClient
import DossierProto
import DossierStore
import DossierTestSupport
import Foundation
import Testing

/// Rotating the master key re-wraps every record's data key, without touching contents; the old
/// key is then no longer needed, and a wrong key opens nothing.
@Suite struct MasterKeyRotationTests {
    static func key() throws -> MasterKey {
        try MasterKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
    }

    @Test func rotationRewrapsDataKeysAndTheOldKeyCanGo() async throws {
        let old = try Self.key()
        let new = try Self.key()
        let server = try await TestServer(masterKey: old)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        var documents: [(String, String)] = []
        for patientID in [Docs.alice, "1990020254321"] {
            try await server.openActiveRecord(patientID, as: helpdesk)
            let patient = try await server.connect(kind: "patient", id: patientID)
            let document = try await patient.documents.depositDocument(.with {
                $0.patientID = patientID
                $0.submission = Docs.submission("note", .patientProvided, title: "Note")
                $0.content = Data("content of \(patientID)".utf8)
            }).document
            documents.append((patientID, document.documentID))
        }
        let notRotating = await Docs.status { _ = try await helpdesk.admin.rotateMasterKey(.init()) }
        #expect(notRotating?.code == .failedPrecondition && notRotating?.reason == "NO_NEW_MASTER_KEY")
        await server.stop(removeData: false)

        func read(_ server: TestServer) async throws -> [String] {
            var texts: [String] = []
            for (patientID, documentID) in documents {
                let patient = try await server.connect(kind: "patient", id: patientID)
                let range = try await patient.documents.readDocumentContent(.with {
                    $0.patientID = patientID
                    $0.documentID = documentID
                })
                texts.append(String(decoding: range.data, as: UTF8.self))
            }
            return texts
        }
        let expected = documents.map { "content of \($0.0)" }

        // New key installed, old one still given: everything reads; rotate.
        var rotating = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory, masterKey: new, previousMasterKey: old)
        #expect(try await read(rotating) == expected)
        let operatorClient = try await rotating.connect(kind: "operator", id: "op-1")
        let mismatch = await Docs.status { _ = try await operatorClient.admin.rotateMasterKey(.with { $0.expectedNewKeyID = old.id }) }
        #expect(mismatch?.reason == "MASTER_KEY_ID_MISMATCH")
        let rotated = try await operatorClient.admin.rotateMasterKey(.with { $0.expectedNewKeyID = new.id })
        #expect(rotated.rewrapped == 2 && rotated.remaining == 0 && rotated.completed)
        #expect(rotated.previousKeyID == old.id && rotated.currentKeyID == new.id)
        let again = try await operatorClient.admin.rotateMasterKey(.init())
        #expect(again.rewrapped == 0 && again.completed)
        await rotating.stop(removeData: false)

        // The new key alone reads everything; the old key alone reads nothing.
        rotating = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory, masterKey: new)
        #expect(try await read(rotating) == expected)
        await rotating.stop(removeData: false)
        rotating = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory, masterKey: new)
        // After the rotation the key store's verifier is the new key's: the old key no longer
        // starts a server on this data.
        await #expect(throws: (any Error).self) {
            _ = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory, masterKey: old)
        }
        await rotating.stop()
    }
}
