import Foundation
import RocksDB

/// Online backups: RocksDB checkpoints (consistent, taken while serving; table files hard-linked
/// when on the same file system). A backup holds the records' data keys wrapped by the master
/// key, never the master key.
extension DossierStore {
    /// Writes a checkpoint to `path` (which must not exist) and returns the storage sequence
    /// number it is consistent at: every write acknowledged before the call is in it.
    public func createBackup(at path: String) async throws -> UInt64 {
        try await run { [self] in
            let sequence = try database.latestSequenceNumber()
            try database.createCheckpoint(at: path)
            return sequence
        }
    }
}
