import DossierCore
import DossierProto
import DossierStore
import Foundation
import NIOConcurrencyHelpers
import SwiftProtobuf

/// Backups under the configured root, one at a time. With a key-store backup root, each
/// backup also checkpoints the key store there under the same name; those are deleted after
/// their retention (the window during which a restored key store could bring back a purged
/// record, docs/OPERATIONS.md "The key store").
final class Backups: Sendable {
    let root: String?
    let keyStoreRoot: String?
    let keyStoreRetention: Duration
    private let store: DossierStore
    private let running = NIOLockedValueBox(false)

    init(root: String?, keyStoreRoot: String?, keyStoreRetention: Duration, store: DossierStore) {
        self.root = root
        self.keyStoreRoot = keyStoreRoot
        self.keyStoreRetention = keyStoreRetention
        self.store = store
    }

    func create(name: String) async throws -> Dossier_V1_BackupInfo {
        guard let root else {
            throw DossierError(.failedPrecondition, "no backup directory is configured (dossierd --backup-dir)", reason: "NO_BACKUP_ROOT")
        }
        guard (1...128).contains(name.utf8.count), !name.hasPrefix("."),
            name.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw DossierError(
                .invalidArgument, "name must be 1 to 128 characters of [A-Za-z0-9._-], not starting with a dot",
                reason: "INVALID_BACKUP_NAME", field: "name")
        }
        guard store.takesBackups else {
            throw DossierError(
                .failedPrecondition, "the records live in PostgreSQL: back them up with PostgreSQL's tools (pg_basebackup, WAL archiving)",
                reason: "BACKUP_BY_DATABASE")
        }
        let path = root + "/" + name
        let keyStorePath = keyStoreRoot.map { $0 + "/" + name }
        guard !FileManager.default.fileExists(atPath: path), !keyStorePath.map(FileManager.default.fileExists(atPath:)).orFalse else {
            throw DossierError(.alreadyExists, "a backup with this name exists", reason: "BACKUP_EXISTS", field: "name")
        }
        guard running.withLockedValue({ busy in
            defer { busy = true }
            return !busy
        }) else {
            throw DossierError(.resourceExhausted, "another backup is running", reason: "BACKUP_RUNNING")
        }
        defer { running.withLockedValue { $0 = false } }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let keyStoreRoot {
            try FileManager.default.createDirectory(
                atPath: keyStoreRoot, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let sequence = try await store.createBackup(at: path, keyStoreAt: keyStorePath)
        var info = Self.info(root: root, name: name)
        info.storageSequence = sequence
        return info
    }

    func list() throws -> [Dossier_V1_BackupInfo] {
        guard let root else {
            throw DossierError(.failedPrecondition, "no backup directory is configured (dossierd --backup-dir)", reason: "NO_BACKUP_ROOT")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { !$0.hasPrefix(".") }.map { Self.info(root: root, name: $0) }
            .sorted { $0.createdAt.seconds > $1.createdAt.seconds }
    }

    /// Deletes key-store backups older than the retention; returns how many.
    func pruneKeyStoreBackups(now: Date) throws -> Int {
        guard let keyStoreRoot else { return 0 }
        let manager = FileManager.default
        let cutoff = now.addingTimeInterval(-Double(keyStoreRetention.components.seconds))
        var pruned = 0
        for name in (try? manager.contentsOfDirectory(atPath: keyStoreRoot)) ?? [] where !name.hasPrefix(".") {
            let path = keyStoreRoot + "/" + name
            guard let modified = (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil, modified < cutoff
            else { continue }
            try manager.removeItem(atPath: path)
            pruned += 1
        }
        return pruned
    }

    private static func info(root: String, name: String) -> Dossier_V1_BackupInfo {
        let path = root + "/" + name
        let manager = FileManager.default
        let created = (try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
        let size = ((try? manager.contentsOfDirectory(atPath: path)) ?? []).reduce(UInt64(0)) { total, file in
            total + ((try? manager.attributesOfItem(atPath: path + "/" + file)[.size] as? UInt64) ?? 0)
        }
        return .with {
            $0.name = name
            if let created { $0.createdAt = Google_Protobuf_Timestamp(date: created) }
            $0.sizeBytes = size
        }
    }
}

extension Optional<Bool> {
    fileprivate var orFalse: Bool { self ?? false }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
