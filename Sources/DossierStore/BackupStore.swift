import Foundation
import RocksDB

/// Online backups: RocksDB checkpoints (consistent, taken while serving; table files hard-linked
/// when on the same file system). A data backup holds sealed values only: no key, no patient id.
/// The key store is checkpointed apart (decision 0004), if asked.
extension DossierStore {
    /// Writes a checkpoint of the data to `path` (which must not exist), and, when
    /// `keyStorePath` is given, one of the key store there, taken after the data's: it holds the
    /// keys of every record in the data checkpoint. Returns the storage sequence number the data
    /// is consistent at: every write acknowledged before the call is in it.
    public func createBackup(at path: String, keyStoreAt keyStorePath: String? = nil) async throws -> UInt64 {
        guard let rocks else { throw BackupUnsupportedError() }
        return try await run { [self] in
            let sequence = try rocks.database.latestSequenceNumber()
            try rocks.database.createCheckpoint(at: path)
            if let keyStorePath { try keyStore.checkpoint(at: keyStorePath) }
            return sequence
        }
    }
}

/// Backups of a PostgreSQL deployment are PostgreSQL's (pg_basebackup, continuous archiving:
/// docs/OPERATIONS.md); the server's checkpoint backups are the embedded engine's.
public struct BackupUnsupportedError: Error, CustomStringConvertible, Sendable {
    public var description: String { "backups of a PostgreSQL deployment are taken with PostgreSQL's tools (pg_basebackup, WAL archiving)" }
}
