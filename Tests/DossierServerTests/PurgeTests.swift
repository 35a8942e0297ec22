import DossierClient
import DossierCore
import DossierProto
@testable import DossierStore
import DossierTestSupport
import Foundation
import RocksDB
import Testing

/// Purge: a closed record whose patient asked for deletion is removed irreversibly — its data key
/// destroyed, none of its entries left in any family, and on RocksDB its sealed bytes gone from
/// every file — while other records stay intact. On PostgreSQL the deleted rows' old versions stay
/// in the heap until VACUUM and in the WAL: they are sealed with the destroyed key.
@Suite struct PurgeTests {
    static let bob = "1990020254321"

    static let bobsContent = Data((0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })

    /// The stopped store's data with its keys, on the test's engine.
    static func files(_ dataDirectory: String) throws -> StoreFiles {
        try StoreFiles(
            dataDirectory: dataDirectory, keyStorePath: TestServer.keyStorePath(of: dataDirectory), masterKey: TestServer.masterKey,
            engine: TestStorage.engine(forDataDirectory: dataDirectory))
    }

    /// Raw stored bytes of alice's first content chunk, once flushed to table and blob files
    /// (so that the purge has to remove them from files, not a memtable), and her wrapped keys
    /// in the key store. RocksDB only.
    static func sealedBytes(_ dataDirectory: String, content: String) throws -> (chunk: [UInt8], key: [UInt8]) {
        let files = try Self.files(dataDirectory)
        defer { files.close() }
        try files.database.flush(files.family(Keys.Family.contents))
        try files.database.flush(files.family(Keys.Family.meta))
        try files.keyStore.database.flush()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dataDirectory).contains { $0.hasSuffix(".blob") })
        let keys = try files.keys(Docs.alice)
        let chunk = try files.database.get(Keys.contentChunk(keys.handle, ContentID(content), offset: 0), in: files.family(Keys.Family.contents))
        let key = try files.keyStore.database.get([UInt8(ascii: "h")] + keys.handle.bytes, in: files.keyStore.database.family("default")!)
        return (try #require(chunk), try #require(key))
    }

    /// How many stored entries, in every family, carry the record's handle in their key (every
    /// key of a record does: Keys).
    static func entries(of handle: RecordHandle, in files: StoreFiles) throws -> Int {
        var count = 0
        for family in StoreFamily.allCases {
            try files.engine.scan(prefix: [], in: family) { entry in
                if entry.key.count >= handle.bytes.count,
                   (0...(entry.key.count - handle.bytes.count)).contains(where: { entry.key[$0..<($0 + handle.bytes.count)].elementsEqual(handle.bytes) }) {
                    count += 1
                }
                return true
            }
        }
        return count
    }

    @Test func aPurgedRecordLeavesNoReadableTraceAndOthersStayIntact() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        try await server.openActiveRecord(Self.bob, as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Docs.alice)
        let bob = try await server.connect(kind: "patient", id: Self.bob)
        let content = [UInt8]((0..<200_000).map { _ in UInt8.random(in: 0...255) })
        let aliceNote = try await Docs.deposit(alice, Docs.submission("a", .patientProvided, title: "Alice's note"), content: content)
        let bobNote = try await bob.documents.depositDocument(.with {
            $0.patientID = Self.bob
            $0.submission = Docs.submission("b", .patientProvided, title: "Bob's note")
            $0.content = Self.bobsContent  // large enough to share alice's blob file
        }).document
        _ = try await alice.records.closeRecord(.with { $0.patientID = Docs.alice })
        await server.stop(removeData: false)

        let files = try Self.files(server.dataDirectory)
        let handle = try files.keys(Docs.alice).handle
        #expect(try Self.entries(of: handle, in: files) > 0)  // control
        files.close()
        let sealed = TestStorage.isPostgres ? nil : try Self.sealedBytes(server.dataDirectory, content: aliceNote.documentID)
        let chunkSample = sealed.map { Array($0.chunk[1_000..<1_064]) }
        if let chunkSample {
            #expect(!EncryptionAtRestTests.occurrences(of: chunkSample, under: server.dataDirectory).isEmpty)  // control
        }

        var restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let operatorClient = try await restarted.connect(kind: "operator", id: "op-1")
        let patient = try await restarted.connect(kind: "patient", id: Docs.alice)
        let notDue = try await operatorClient.admin.runPurge(.with { $0.dryRun = true })
        #expect(notDue.remainingDue == 0 && notDue.hasNextDueAt)  // closed, within retention
        _ = try await patient.records.requestDeletion(.with {
            $0.patientID = Docs.alice
            $0.confirmIrreversible = true
        })
        let dry = try await operatorClient.admin.runPurge(.with { $0.dryRun = true })
        #expect(dry.purged == 0 && dry.remainingDue == 1)
        let denied = await Docs.status { _ = try await patient.admin.runPurge(.init()) }
        #expect(denied?.code == .permissionDenied)
        let run = try await operatorClient.admin.runPurge(.init())
        #expect(run.purged == 1 && run.remainingDue == 0)
        let gone = await Docs.status { _ = try await operatorClient.records.getRecord(.with { $0.patientID = Docs.alice }) }
        #expect(gone?.code == .notFound)
        await restarted.stop(removeData: false)

        if let sealed, let chunkSample {
            #expect(EncryptionAtRestTests.occurrences(of: chunkSample, under: server.dataDirectory).isEmpty)
            #expect(EncryptionAtRestTests.occurrences(of: sealed.key, under: server.dataDirectory).isEmpty)
        }
        // The key-store entry is gone as well (its files may keep it until compaction, but the
        // live store has no key for alice any more), and no family holds an entry of hers.
        let after = try Self.files(server.dataDirectory)
        #expect(throws: (any Error).self) { try after.keys(Docs.alice) }
        #expect(try Self.entries(of: handle, in: after) == 0)
        after.close()

        restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let bobAgain = try await restarted.connect(kind: "patient", id: Self.bob)
        let read = try await bobAgain.documents.readDocumentContent(.with {
            $0.patientID = Self.bob
            $0.documentID = bobNote.documentID
        })
        #expect(read.data == Self.bobsContent)
        let verified = try await bobAgain.accessLog.verifyAccessLog(.with { $0.patientID = Self.bob })
        #expect(verified.result == .verified)
        let stats = try await restarted.connect(kind: "operator", id: "op-1").statistics.getStatistics(.init())
        #expect(stats.records.purged == 1 && stats.records.active == 1 && stats.records.openedTotal == 2)
        await restarted.stop()
    }
}

/// Erasure that backups cannot undo: a data backup taken before the purge, restored with
/// today's key store, yields nothing of the purged record.
/// The server's own backups are the embedded engine's (on PostgreSQL, PostgreSQL's tools).
@Suite(.enabled(if: !TestStorage.isPostgres)) struct PurgeAndBackupTests {
    @Test func aBackupTakenBeforeThePurgeDoesNotBringTheRecordBack() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-purge-backup-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer(backupRoot: root)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        try await server.openActiveRecord(PurgeTests.bob, as: helpdesk)
        let alice = try await server.connect(kind: "patient", id: Docs.alice)
        let note = try await Docs.deposit(alice, Docs.submission("a", .patientProvided, title: "Alice's note"), content: Array("secret".utf8))
        _ = try await helpdesk.admin.createBackup(.with { $0.name = "before-purge" })
        _ = try await alice.records.closeRecord(.with { $0.patientID = Docs.alice })
        _ = try await alice.records.requestDeletion(.with {
            $0.patientID = Docs.alice
            $0.confirmIrreversible = true
        })
        #expect(try await helpdesk.admin.runPurge(.init()).purged == 1)
        await server.stop(removeData: false)

        // The restored data still holds alice's sealed values (the control), but today's key
        // store has no key for them: the record answers as never existing.
        let restored = root + "/before-purge"
        let keyStore = TestServer.keyStorePath(of: server.dataDirectory)
        let files = try StoreFiles(dataDirectory: restored, keyStorePath: keyStore, masterKey: TestServer.masterKey)
        let handles = try files.database.entries(withPrefix: [UInt8](), in: files.family(Keys.Family.records)).map(\.key)
        #expect(handles.count == 2)  // alice's and bob's records are in the backup
        #expect(try handles.compactMap { RecordHandle($0) }.filter { try files.keyStore.keys(for: $0) == nil }.count == 1)
        files.close()
        try FileManager.default.copyItem(atPath: server.dataDirectory + ".log-signing-key", toPath: restored + ".log-signing-key")
        defer { try? FileManager.default.removeItem(atPath: restored + ".log-signing-key") }
        let restarted = try await TestServer(pki: server.pki, dataDirectory: restored, keyStorePath: keyStore)
        let operatorAgain = try await restarted.connect(kind: "operator", id: "op-1")
        let aliceAgain = try await restarted.connect(kind: "patient", id: Docs.alice)
        let record = await Docs.status { _ = try await operatorAgain.records.getRecord(.with { $0.patientID = Docs.alice }) }
        #expect(record?.code == .notFound)
        let document = await Docs.status { _ = try await aliceAgain.documents.getDocument(.with {
            $0.patientID = Docs.alice
            $0.documentID = note.documentID
        }) }
        #expect(document?.code == .notFound || document?.code == .permissionDenied)
        let log = await Docs.status { _ = try await aliceAgain.accessLog.listAccessLog(.with { $0.patientID = Docs.alice }) }
        #expect(log?.code == .notFound)
        let statistics = try await operatorAgain.statistics.getStatistics(.init())
        #expect(statistics.records.active == 1)  // bob only
        // Bob's record, in the same backup, is intact.
        let bob = try await restarted.connect(kind: "patient", id: PurgeTests.bob)
        #expect(try await bob.records.getRecord(.with { $0.patientID = PurgeTests.bob }).record.patientID == PurgeTests.bob)
        // Alice may open a new record: it starts empty.
        try await restarted.openActiveRecord(Docs.alice, as: operatorAgain)
        #expect(try await Docs.find(aliceAgain).isEmpty)
        await restarted.stop(removeData: false)
        try? FileManager.default.removeItem(atPath: server.dataDirectory)
        try? FileManager.default.removeItem(atPath: keyStore)
        try? FileManager.default.removeItem(atPath: server.dataDirectory + ".log-signing-key")
        server.pki.remove()
    }
}
