import Crypto
import DossierCore
import Foundation
import RocksDB
import Synchronization

/// The records' keys, in their own RocksDB instance apart from the data and its backups
/// (decision 0004, docs/DATA-MODEL.md "The key store"):
///
/// | key | value |
/// |---|---|
/// | `v` | key store id (16) ‖ master key id (16 hex) ‖ the id sealed by the master key: the verifier |
/// | `i` | master key id ‖ the index key sealed by the master key |
/// | `r` ‖ HMAC-SHA-256(index key, patient id) | the record's handle (16) |
/// | `h` ‖ handle | master key id ‖ (data key ‖ patient id) sealed by the master key |
///
/// Purge deletes a record's `r` and `h` entries: its data, in the data directory and in every
/// data backup, can no longer be opened nor linked to the patient.
final class KeyStore: Sendable {
    let database: Database
    private let family: ColumnFamily
    let masterKey: MasterKey
    let previousMasterKey: MasterKey?
    /// Random, made with the key store; the data directory records it (it belongs to one key store).
    let id: [UInt8]
    private let indexKey: SymmetricKey
    /// Whether this open created the key store.
    let isNew: Bool
    private let cache = Mutex(Cache())

    private struct Cache {
        static let limit = 200_000
        var byPatient: [PatientID: RecordKeys] = [:]
        var byHandle: [RecordHandle: RecordKeys] = [:]

        mutating func insert(_ keys: RecordKeys) {
            if byPatient.count >= Self.limit {
                byPatient.removeAll(keepingCapacity: true)
                byHandle.removeAll(keepingCapacity: true)
            }
            byPatient[keys.patient] = keys
            byHandle[keys.handle] = keys
        }
    }

    private static let verifierKey: [UInt8] = [UInt8(ascii: "v")]
    private static let indexKeyKey: [UInt8] = [UInt8(ascii: "i")]
    /// "p" → how many records' keys were destroyed (u64 BE): the statistics compare it with the
    /// purges their data recorded, to notice data restored from a backup older than the keys.
    private static let purgeCountKey: [UInt8] = [UInt8(ascii: "p")]
    /// Serializes the purge count's read-modify-write (purges of different records may overlap).
    private let purgeCountLock = Mutex(())
    private static func recordKey(_ blinded: [UInt8]) -> [UInt8] { [UInt8(ascii: "r")] + blinded }
    private static func handleKey(_ handle: RecordHandle) -> [UInt8] { [UInt8(ascii: "h")] + handle.bytes }

    /// Opens (or, when `mayCreate`, creates) the key store at `path` and checks that the master
    /// key (or, during a rotation, the previous one) is the one it was made with.
    init(path: String, masterKey: MasterKey, previousMasterKey: MasterKey?, mayCreate: Bool, allowOpenPermissions: Bool) throws {
        let exists = FileManager.default.fileExists(atPath: path + "/CURRENT")
        if !exists && !mayCreate {
            throw KeyStoreError(
                "the key store \(path) does not exist, but the data directory holds data: give the key store it was made with (--key-store)")
        }
        try Permissions.makePrivateDirectory(path, allowOpen: allowOpenPermissions)
        var options = DatabaseOptions()
        options.blockCacheBytes = 8 << 20
        options.columnFamilies = ["default": ColumnFamilyOptions(compression: .none)]
        database = try Database.open(path: path, options: options)
        family = database.family("default")!
        self.masterKey = masterKey
        self.previousMasterKey = previousMasterKey
        do {
            if let verifier = try database.get(Self.verifierKey, in: family) {
                guard verifier.count > 32 else { throw CorruptValueError(family: "key store verifier") }
                let storeID = Array(verifier.prefix(16))
                let keyID = String(decoding: verifier[16..<32], as: UTF8.self)
                guard let master = [masterKey, previousMasterKey].compactMap({ $0 }).first(where: { $0.id == keyID }),
                    (try? Sealing.open(Array(verifier.dropFirst(32)), key: master.key, boundTo: Self.verifierKey)) == storeID
                else {
                    throw KeyStoreError(
                        "the master key (id \(masterKey.id)) is not the key of this key store (made with master key \(keyID)): give the right --master-key")
                }
                guard let wrapped = try database.get(Self.indexKeyKey, in: family) else {
                    throw CorruptValueError(family: "key store index key")
                }
                id = storeID
                indexKey = SymmetricKey(data: try Self.unwrap(wrapped, with: [masterKey, previousMasterKey], at: Self.indexKeyKey))
                isNew = false
            } else {
                guard mayCreate else {
                    throw KeyStoreError("the key store \(path) is empty, but the data directory holds data: give the key store it was made with")
                }
                var generator = SystemRandomNumberGenerator()
                id = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let index = SymmetricKey(size: .bits256)
                indexKey = index
                let batch = WriteBatch()
                batch.put(Self.indexKeyKey, try index.withUnsafeBytes { try Self.wrap(Array($0), with: masterKey, at: Self.indexKeyKey) }, in: family)
                batch.put(Self.verifierKey, try Self.verifier(id: id, masterKey: masterKey), in: family)
                try database.write(batch, sync: true)
                isNew = true
            }
        } catch {
            database.close()
            throw error
        }
    }

    private static func verifier(id: [UInt8], masterKey: MasterKey) throws -> [UInt8] {
        id + Array(masterKey.id.utf8) + (try Sealing.seal(id, key: masterKey.key, boundTo: verifierKey))
    }

    private static func wrap(_ secret: [UInt8], with master: MasterKey, at storageKey: [UInt8]) throws -> [UInt8] {
        Array(master.id.utf8) + (try Sealing.seal(secret, key: master.key, boundTo: storageKey))
    }

    private static func unwrap(_ wrapped: [UInt8], with masters: [MasterKey?], at storageKey: [UInt8]) throws -> [UInt8] {
        guard wrapped.count > 16 else { throw CorruptValueError(family: "key store") }
        let keyID = String(decoding: wrapped.prefix(16), as: UTF8.self)
        guard let master = masters.compactMap({ $0 }).first(where: { $0.id == keyID }) else {
            throw SealingError("a key is wrapped by master key \(keyID), which this server was not given")
        }
        return try Sealing.open(Array(wrapped.dropFirst(16)), key: master.key, boundTo: storageKey)
    }

    func close() { database.close() }

    /// HMAC-SHA-256 under the index key: how an identifier is looked up across records.
    func blindIndex(_ identifier: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(identifier.utf8), using: indexKey))
    }

    /// The record's keys, nil when the patient has no record (or it was purged).
    func keys(for patient: PatientID) throws -> RecordKeys? {
        if let cached = cache.withLock({ $0.byPatient[patient] }) { return cached }
        guard let handleBytes = try database.get(Self.recordKey(blindIndex(patient.rawValue)), in: family),
            let handle = RecordHandle(handleBytes)
        else { return nil }
        return try keys(for: handle)
    }

    /// The keys of the record with this handle, nil when the key store has none (purged, or data
    /// restored from a backup older than the record's purge).
    func keys(for handle: RecordHandle) throws -> RecordKeys? {
        if let cached = cache.withLock({ $0.byHandle[handle] }) { return cached }
        guard let wrapped = try database.get(Self.handleKey(handle), in: family) else { return nil }
        let opened = try Self.unwrap(wrapped, with: [masterKey, previousMasterKey], at: Self.handleKey(handle))
        guard opened.count > 32, let patient = PatientID(rawValue: String(decoding: opened.dropFirst(32), as: UTF8.self)) else {
            throw CorruptValueError(family: "key store")
        }
        let keys = RecordKeys(patient: patient, handle: handle, dataKey: SymmetricKey(data: opened.prefix(32)))
        cache.withLock { $0.insert(keys) }
        return keys
    }

    /// New keys for records that have none, written (synced) before any of their data. Callers
    /// hold the records' locks.
    func create(for patients: [PatientID]) throws -> [RecordKeys] {
        let batch = WriteBatch()
        let made = try patients.map { patient in
            let keys = RecordKeys(patient: patient, handle: .random(), dataKey: SymmetricKey(size: .bits256))
            batch.put(Self.recordKey(blindIndex(patient.rawValue)), keys.handle.bytes, in: family)
            batch.put(Self.handleKey(keys.handle), try wrapped(keys), in: family)
            return keys
        }
        try database.write(batch, sync: true)
        cache.withLock { cache in made.forEach { cache.insert($0) } }
        return made
    }

    private func wrapped(_ keys: RecordKeys) throws -> [UInt8] {
        let secret = keys.dataKey.withUnsafeBytes { Array($0) } + Array(keys.patient.rawValue.utf8)
        return try Self.wrap(secret, with: masterKey, at: Self.handleKey(keys.handle))
    }

    /// Destroys a record's keys (synced): crypto-shredding. Callers hold the record's lock.
    func destroy(_ keys: RecordKeys) throws {
        try purgeCountLock.withLock { _ in
            let batch = WriteBatch()
            batch.delete(Self.recordKey(blindIndex(keys.patient.rawValue)), in: family)
            batch.delete(Self.handleKey(keys.handle), in: family)
            batch.put(Self.purgeCountKey, Keys.encode(try purgeCount() + 1), in: family)
            try database.write(batch, sync: true)
        }
        cache.withLock { cache in
            cache.byPatient[keys.patient] = nil
            cache.byHandle[keys.handle] = nil
        }
    }

    /// How many records' keys `destroy` destroyed (0 for key stores of earlier versions).
    func purgeCount() throws -> UInt64 {
        guard let bytes = try database.get(Self.purgeCountKey, in: family) else { return 0 }
        guard let count = Keys.decodeUInt64(bytes) else { throw KeyStoreError("the key store's purge count is unreadable") }
        return count
    }

    /// Every record's handle, in handle order.
    func handles() throws -> [RecordHandle] {
        try database.entries(withPrefix: [UInt8(ascii: "h")], in: family).compactMap { RecordHandle($0.key.dropFirst()) }
    }

    // MARK: - Master-key rotation

    /// Handles whose keys are still wrapped by the previous master key.
    func staleHandles() throws -> [RecordHandle] {
        guard let previous = previousMasterKey else { return [] }
        return try database.entries(withPrefix: [UInt8(ascii: "h")], in: family).compactMap { entry in
            String(decoding: entry.value.prefix(16), as: UTF8.self) == previous.id ? RecordHandle(entry.key.dropFirst()) : nil
        }
    }

    /// Whether the verifier or the index key still need the current master key.
    func storeKeysAreStale() throws -> Bool {
        guard previousMasterKey != nil else { return false }
        let verifier = try database.get(Self.verifierKey, in: family) ?? []
        let index = try database.get(Self.indexKeyKey, in: family) ?? []
        return String(decoding: verifier.dropFirst(16).prefix(16), as: UTF8.self) != masterKey.id
            || String(decoding: index.prefix(16), as: UTF8.self) != masterKey.id
    }

    /// Re-wraps one record's keys with the current master key, if still wrapped by the previous
    /// one; false when there was nothing to do. Callers hold the record's lock.
    func rewrap(_ handle: RecordHandle) throws -> Bool {
        guard let previous = previousMasterKey, let current = try database.get(Self.handleKey(handle), in: family),
            String(decoding: current.prefix(16), as: UTF8.self) == previous.id, let keys = try keys(for: handle)
        else { return false }
        try database.put(Self.handleKey(handle), try wrapped(keys), in: family, sync: true)
        return true
    }

    /// After the last record's keys: the verifier and the index key under the current key.
    func rewrapStoreKeys() throws {
        let batch = WriteBatch()
        batch.put(Self.indexKeyKey, try indexKey.withUnsafeBytes { try Self.wrap(Array($0), with: masterKey, at: Self.indexKeyKey) }, in: family)
        batch.put(Self.verifierKey, try Self.verifier(id: id, masterKey: masterKey), in: family)
        try database.write(batch, sync: true)
    }

    /// A consistent copy in `path` (which must not exist).
    func checkpoint(at path: String) throws {
        try database.createCheckpoint(at: path)
    }
}

public struct KeyStoreError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
