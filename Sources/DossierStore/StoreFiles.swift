import DossierCore
import Foundation
import RocksDB

/// A stopped store's data opened directly, with its keys: for tests that look at what is stored
/// or change it behind the server's back (an insider with the master key). Internal: reachable
/// from `@testable import DossierStore` only.
final class StoreFiles {
    /// The data, on whichever engine the store used (`open`: the test's; nil: RocksDB's files).
    let engine: any StoreEngine
    let keyStore: KeyStore
    private let rocks: RocksDBEngine?

    init(
        dataDirectory: String, keyStorePath: String, masterKey: MasterKey,
        engine open: (@Sendable () throws -> any StoreEngine)? = nil
    ) throws {
        if let open {
            engine = try open()
            rocks = nil
        } else {
            let embedded = try RocksDBEngine(
                database: try Database.open(path: dataDirectory, options: RocksDBEngine.databaseOptions(blockCacheBytes: 8 << 20)))
            engine = embedded
            rocks = embedded
        }
        do {
            keyStore = try KeyStore(
                path: keyStorePath, masterKey: masterKey, previousMasterKey: nil, mayCreate: false, allowOpenPermissions: true)
        } catch {
            engine.close()
            throw error
        }
    }

    /// RocksDB's files (tests of what the embedded engine leaves on disk).
    var database: Database { rocks!.database }

    func family(_ name: String) -> ColumnFamily { database.family(name)! }

    /// The record's keys; fails when the patient has none.
    func keys(_ patient: String) throws -> RecordKeys {
        guard let keys = try keyStore.keys(for: try PatientID(validating: patient)) else {
            throw KeyStoreError("no keys for this patient")
        }
        return keys
    }

    func delete(_ key: [UInt8], in family: StoreFamily) throws {
        let batch = StoreBatch()
        batch.delete(key, in: family)
        try engine.write(batch, durability: .durable)
    }

    func close() {
        engine.close()
        keyStore.close()
    }
}
