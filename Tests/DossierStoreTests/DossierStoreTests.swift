import DossierCore
import Foundation
import DossierTestSupport
import Testing

@testable import DossierStore

@Suite struct DossierStoreTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-store-\(UUID().uuidString)").path
    let patient = try! PatientID(validating: "1985010112345")
    let helpdesk = Principal(kind: .operator, id: "op-1", displayName: "Helpdesk", certificateSerial: "0a1b")
    let t0 = Date(timeIntervalSince1970: 1_700_000_000.25)

    static let masterKey = try! MasterKey(bytes: Array(repeating: 7, count: 32))

    func open() throws -> DossierStore {
        var configuration = StoreConfiguration(
            path: path, keyStorePath: path + ".keys", masterKey: Self.masterKey, threads: 4, blockCacheBytes: 8 << 20)
        configuration.engine = TestStorage.engine(forDataDirectory: path)
        return try DossierStore(configuration: configuration)
    }

    func opened() -> Record {
        RecordLifecycle.open(patient, enrollment: .referringPhysician(id: "gp-1"), by: .operator, withObjectionPeriod: true, at: t0, policy: .init())
    }

    @Test func recordAndLogAreCommittedTogetherAndSurviveReopen() async throws {
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".keys")
        }
        let store = try open()
        let record = opened()
        try await store.transact(patient) { tx in
            tx.updated = record
            tx.log(AccessLogEntry(time: self.t0, actor: self.helpdesk, basis: .operator, operation: .openRecord, outcome: .success))
            tx.log(AccessLogEntry(time: self.t0, actor: self.helpdesk, basis: .operator, operation: .getRecord, outcome: .success))
        }
        store.close()

        let reopened = try open()
        let current = try await reopened.transact(patient) { tx in tx.current }
        #expect(current == record)
        let log = try await reopened.accessLog(of: patient, after: 0, limit: 10)
        #expect(log.map(\.sequence) == [1, 2])
        #expect(log.map(\.entry.operation) == [.openRecord, .getRecord])
        #expect(log[0].entry.actor == helpdesk)
        #expect(log[0].entry.time == t0)
        reopened.close()
    }

    @Test func logEntriesOfAMissingRecordAreDropped() async throws {
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".keys")
        }
        let store = try open()
        try await store.transact(patient) { tx in
            tx.log(AccessLogEntry(time: self.t0, actor: self.helpdesk, basis: .none, operation: .getRecord, outcome: .denied))
        }
        #expect(try await store.accessLog(of: patient, after: 0, limit: 10).isEmpty)
        store.close()
    }

    @Test func concurrentTransactionsOnOneRecordAreSerialized() async throws {
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".keys")
        }
        let store = try open()
        let record = opened()
        try await store.transact(patient) { tx in tx.updated = record }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await store.transact(self.patient) { tx in
                        var next = tx.current!
                        next.version += 1
                        tx.updated = next
                        tx.log(AccessLogEntry(time: self.t0, actor: self.helpdesk, basis: .operator, operation: .getRecord, outcome: .success))
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await store.transact(patient) { tx in tx.current!.version }
        #expect(final == record.version + 50)
        let log = try await store.accessLog(of: patient, after: 0, limit: 100)
        #expect(log.map(\.sequence) == Array(1...50))
        store.close()
    }

    @Test func unusableDirectoryFailsWithAClearError() throws {
        let file = path + ".file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: (any Error).self) {
            try DossierStore(configuration: StoreConfiguration(path: file, keyStorePath: path + ".keys", masterKey: Self.masterKey))
        }
    }
}
