import Crypto
import DossierClient
import DossierCore
import DossierProto
@testable import DossierStore
import DossierTestSupport
import Foundation
import RocksDB
import Testing

/// The tamper-evident log: entries are edited, removed, reordered and truncated directly in
/// RocksDB while the server is stopped, and verification fails at the right place.
@Suite struct AccessLogChainTests {
    let alice = Docs.alice
    var patient: PatientID { try! PatientID(validating: alice) }

    /// A record with a few log entries; returns the server (running) and a checkpoint kept by
    /// the patient at the head.
    func seeded(pki: TestPKI? = nil) async throws -> (TestServer, Dossier_V1_LogCheckpoint) {
        let server = try await TestServer(pki: pki)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        try await Docs.grant(patient, to: "gp-1001")
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        for _ in 0..<3 { _ = try await gp.records.getRecord(.with { $0.patientID = alice }) }
        let checkpoint = try await patient.accessLog.getLogCheckpoint(.with { $0.patientID = alice }).checkpoint
        return (server, checkpoint)
    }

    func verify(_ server: TestServer, trusted: Dossier_V1_LogCheckpoint? = nil) async throws -> Dossier_V1_VerifyAccessLogResponse {
        let patient = try await server.connect(kind: "patient", id: alice)
        return try await patient.accessLog.verifyAccessLog(.with {
            $0.patientID = alice
            if let trusted { $0.trustedCheckpoint = trusted }
        })
    }

    /// A record's access log as an insider with the master key sees it on disk.
    struct SealedLog {
        let files: StoreFiles
        let keys: RecordKeys
        var engine: any StoreEngine { files.engine }

        func key(_ sequence: UInt64) -> [UInt8] { Keys.logEntry(keys.handle, sequence: sequence) }
        func raw(_ sequence: UInt64) throws -> [UInt8] { try engine.get(key(sequence), in: .accessLog)! }
        func opened(_ sequence: UInt64) throws -> [UInt8] { try keys.open(try raw(sequence), at: key(sequence)) }
        func entry(_ sequence: UInt64) throws -> Dossier_Storage_V1_StoredLogEntry {
            try Dossier_Storage_V1_StoredLogEntry(serializedBytes: try opened(sequence))
        }
        func put(_ sequence: UInt64, _ plaintext: [UInt8]) throws {
            try engine.put(key(sequence), try keys.seal(plaintext, at: key(sequence)), in: .accessLog)
        }
        func putRaw(_ sequence: UInt64, _ bytes: [UInt8]) throws { try engine.put(key(sequence), bytes, in: .accessLog) }
        func delete(_ sequence: UInt64) throws { try files.delete(key(sequence), in: .accessLog) }
        func putHead(_ sequence: UInt64, _ hash: [UInt8]) throws {
            try engine.put(Keys.logHead(keys.handle), Keys.encode(sequence) + hash, in: .accessLog)
        }
    }

    /// Stops the server, changes its files with `tamper`, starts a server on the same data.
    func tampered(_ server: TestServer, _ tamper: (SealedLog) throws -> Void) async throws -> TestServer {
        await server.stop(removeData: false)
        let files = try StoreFiles(
            dataDirectory: server.dataDirectory, keyStorePath: TestServer.keyStorePath(of: server.dataDirectory),
            masterKey: TestServer.masterKey, engine: TestStorage.engine(forDataDirectory: server.dataDirectory))
        let result = Result { try tamper(SealedLog(files: files, keys: try files.keys(alice))) }
        files.close()
        try result.get()
        return try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
    }

    @Test func anIntactLogVerifiesAndItsCheckpointsAreSignedByTheServersKey() async throws {
        let (server, checkpoint) = try await seeded()
        let keys = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp").accessLog.listLogSigningKeys(.init()).keys
        let key = try #require(keys.first { $0.keyID == checkpoint.keyID })
        let text = "dossier-log-checkpoint-v1\n\(alice)\n\(checkpoint.sequence)\n\(checkpoint.headHash.map { String(format: "%02x", $0) }.joined())\n\(checkpoint.signedAt.seconds)\n\(checkpoint.keyID)\n"
        #expect(try Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey).isValidSignature(checkpoint.signature, for: Data(text.utf8)))

        let result = try await verify(server, trusted: checkpoint)
        #expect(result.result == .verified && result.headSequence == checkpoint.sequence + 1)
        #expect(result.checkpoint.sequence == result.headSequence && result.checkpoint.headHash == result.headHash)

        // The listed entries carry the chain a client can follow.
        let entries = try await Docs.log(try await server.connect(kind: "patient", id: alice))
        #expect(entries.first?.prevHash == Data(count: 32))
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.entryHash == $1.prevHash })

        let operatorResult = try await server.connect(kind: "operator", id: "op-1").accessLog.verifyAccessLog(.with { $0.patientID = alice })
        #expect(operatorResult.result == .verified)
        let denied = await Docs.status {
            _ = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp").accessLog.verifyAccessLog(.with { $0.patientID = alice })
        }
        #expect(denied?.code == .permissionDenied)
        var forged = checkpoint
        forged.sequence += 1
        let badSignature = try await verify(server, trusted: forged)
        #expect(badSignature.result == .failed && badSignature.failure == .checkpointSignatureInvalid)
        await server.stop()
    }

    @Test func anEditedEntryFailsAtThatEntry() async throws {
        let (server, _) = try await seeded()
        let restarted = try await tampered(server) { log in
            var stored = try log.entry(3)
            stored.reason = "FORGED"
            try log.put(3, try stored.serializedBytes())
        }
        let result = try await verify(restarted)
        #expect(result.result == .failed && result.failure == .entryHashMismatch && result.firstBadSequence == 3)
        #expect(result.entriesVerified == 2)
        await restarted.stop()
    }

    @Test func aRemovedEntryFailsAtTheGap() async throws {
        let (server, _) = try await seeded()
        let restarted = try await tampered(server) { log in
            try log.delete(4)
        }
        let result = try await verify(restarted)
        #expect(result.result == .failed && result.failure == .sequenceGap && result.firstBadSequence == 4)
        await restarted.stop()
    }

    @Test func reorderedEntriesFail() async throws {
        let (server, _) = try await seeded()
        let restarted = try await tampered(server) { log in
            let second = try log.opened(2)
            let third = try log.opened(3)
            try log.put(2, third)
            try log.put(3, second)
        }
        let result = try await verify(restarted)
        #expect(result.result == .failed && result.firstBadSequence == 2)
        await restarted.stop()
    }

    @Test func aTruncatedLogPassesOnItsOwnButNotAgainstTheKeptCheckpoint() async throws {
        let (server, checkpoint) = try await seeded()
        let head = checkpoint.sequence
        let restarted = try await tampered(server) { log in
            // A careful attacker removes the last entries and moves the head back.
            let kept = try log.entry(head - 2)
            try log.delete(head)
            try log.delete(head - 1)
            try log.putHead(head - 2, [UInt8](kept.entryHash))
        }
        #expect(try await verify(restarted).result == .verified)
        let result = try await verify(restarted, trusted: checkpoint)
        #expect(result.result == .failed && result.failure == .checkpointMismatch && result.firstBadSequence == head)
        await restarted.stop()
    }

    @Test func aRewrittenChainFailsAgainstTheKeptCheckpoint() async throws {
        let (server, checkpoint) = try await seeded()
        let restarted = try await tampered(server) { log in
            // Rewrite entry 2 and recompute every hash after it: the chain is consistent again.
            var previous = [UInt8](try log.entry(1).entryHash)
            for sequence in 2...checkpoint.sequence {
                var (_, logged, _, _) = try RecordCodec.decodeLogLink(try log.opened(sequence))
                if sequence == 2 { logged.reason = "REWRITTEN" }
                let hash = [UInt8](SHA256.hash(data: LogChain.canonicalBytes(logged, patient: patient, sequence: sequence, prevHash: previous)))
                try log.put(sequence, try RecordCodec.encode(logged, sequence: sequence, prevHash: previous, entryHash: hash))
                previous = hash
            }
            try log.putHead(checkpoint.sequence, previous)
        }
        #expect(try await verify(restarted).result == .verified)
        let result = try await verify(restarted, trusted: checkpoint)
        #expect(result.result == .failed && result.failure == .checkpointMismatch && result.firstBadSequence == checkpoint.sequence)
        await restarted.stop()
    }
}

/// Swaps the stored values of two documents of alice's record (for EncryptionAtRestTests).
func swapDocumentValues(in dataDirectory: String, _ first: String, _ second: String) throws {
    let files = try StoreFiles(
        dataDirectory: dataDirectory, keyStorePath: TestServer.keyStorePath(of: dataDirectory), masterKey: TestServer.masterKey,
        engine: TestStorage.engine(forDataDirectory: dataDirectory))
    defer { files.close() }
    let handle = try files.keys(Docs.alice).handle
    let a = Keys.documentIndex(handle, first)
    let b = Keys.documentIndex(handle, second)
    let valueA = try files.engine.get(a, in: .documents)!
    let valueB = try files.engine.get(b, in: .documents)!
    try files.engine.put(a, valueB, in: .documents)
    try files.engine.put(b, valueA, in: .documents)
}
