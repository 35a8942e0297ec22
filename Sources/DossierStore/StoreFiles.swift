import DossierCore
import Foundation
import RocksDB

/// A stopped store's files opened directly, with its keys: for tests that look at what is on
/// disk or change it behind the server's back (an insider with the master key). Internal:
/// reachable from `@testable import DossierStore` only.
final class StoreFiles {
    let database: Database
    let keyStore: KeyStore

    init(dataDirectory: String, keyStorePath: String, masterKey: MasterKey) throws {
        database = try Database.open(path: dataDirectory, options: DossierStore.databaseOptions(blockCacheBytes: 8 << 20))
        do {
            keyStore = try KeyStore(
                path: keyStorePath, masterKey: masterKey, previousMasterKey: nil, mayCreate: false, allowOpenPermissions: true)
        } catch {
            database.close()
            throw error
        }
    }

    func family(_ name: String) -> ColumnFamily { database.family(name)! }

    /// The record's keys; fails when the patient has none.
    func keys(_ patient: String) throws -> RecordKeys {
        guard let keys = try keyStore.keys(for: try PatientID(validating: patient)) else {
            throw KeyStoreError("no keys for this patient")
        }
        return keys
    }

    func close() {
        database.close()
        keyStore.close()
    }
}
