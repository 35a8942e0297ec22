import Crypto
import DossierCore
import DossierPostgres
import DossierStore
import Foundation

/// Which engine test stores use. By default the embedded RocksDB in the test's data directory;
/// with `DOSSIER_TEST_STORAGE=postgres` and `DOSSIER_TEST_POSTGRES_URL` (make test starts a
/// throw-away cluster and runs the storage, record, access, document, access-log, notification
/// and story suites again this way), PostgreSQL: one schema per data directory, so that a
/// restarted test server finds its records and no two tests share any.
public enum TestStorage {
    public static var postgresURL: String? {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DOSSIER_TEST_STORAGE"] == "postgres" else { return nil }
        return environment["DOSSIER_TEST_POSTGRES_URL"]
    }

    public static var isPostgres: Bool { postgresURL != nil }

    /// The PostgreSQL cluster's directory (DOSSIER_TEST_POSTGRES_DIR), for tests that scan what
    /// reaches the disk.
    public static var postgresDirectory: String? {
        isPostgres ? ProcessInfo.processInfo.environment["DOSSIER_TEST_POSTGRES_DIR"] : nil
    }

    /// The engine for a store whose data directory is `dataDirectory`; nil: RocksDB there.
    public static func engine(forDataDirectory dataDirectory: String) -> (@Sendable () throws -> any StoreEngine)? {
        guard let url = postgresURL else { return nil }
        let digest = Array(SHA256.hash(data: Data(dataDirectory.utf8))).hex
        let schema = "t_" + digest.prefix(24)
        return {
            // Few connections each: tests run many servers at once against one cluster.
            let settings = try PostgresSettings(url: url, poolSize: 4, schema: schema)
            return try PostgresEngine(settings: settings, migrate: true)
        }
    }
}
