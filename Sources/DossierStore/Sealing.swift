import Crypto
import DossierCore
import Foundation
import RocksDB

/// Encryption at rest (docs/DATA-MODEL.md, "What is in clear"): document metadata, contents
/// and upload sessions are sealed with AES-256-GCM under a per-record data key; data keys are
/// stored wrapped (AES-256-GCM) by the master key the operator supplies. Every sealed value is
/// bound to its RocksDB key (additional authenticated data), so values cannot be swapped
/// between keys or records unnoticed.
///
/// Sealed value: 0x01 (format) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
public struct MasterKey: Sendable {
    let key: SymmetricKey
    /// First 8 bytes of SHA-256 of the key, hex: names the key without revealing it.
    public let id: String

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw SealingError("the master key must be 32 bytes") }
        key = SymmetricKey(data: bytes)
        id = SHA256.hash(data: bytes).prefix(8).hex
    }

    /// Reads 64 hex digits from `path`, creating a random key there first when `create` and the
    /// file does not exist (development: `make run` and tests).
    public static func load(path: String, create: Bool) throws -> MasterKey {
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard create else { throw SealingError("the master key file \(path) does not exist") }
            let hex = SymmetricKey(size: .bits256).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() } + "\n"
            guard manager.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw SealingError("cannot create the master key file \(path)")
            }
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SealingError("cannot read the master key file \(path)")
        }
        let hex = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard hex.count == 64 else { throw SealingError("the master key file \(path) must hold 64 hex digits") }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw SealingError("the master key file \(path) must hold 64 hex digits")
            }
            bytes.append(byte)
        }
        return try MasterKey(bytes: bytes)
    }
}

public struct SealingError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Seals and opens values with AES-256-GCM.
enum Sealing {
    static let format: UInt8 = 0x01

    static func seal(_ plaintext: some DataProtocol, key: SymmetricKey, boundTo context: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: context)
        guard let combined = box.combined else { throw SealingError("AES-GCM gave no combined form") }
        return [format] + combined
    }

    static func open(_ sealed: some ContiguousBytes, key: SymmetricKey, boundTo context: [UInt8]) throws -> [UInt8] {
        let bytes = sealed.withUnsafeBytes { Array($0) }
        guard bytes.first == format, bytes.count >= 1 + 12 + 16 else { throw CorruptValueError(family: "sealed value") }
        do {
            return [UInt8](try AES.GCM.open(AES.GCM.SealedBox(combined: bytes.dropFirst()), using: key, authenticating: context))
        } catch {
            throw CorruptValueError(family: "sealed value (authentication failed)")
        }
    }
}

extension DossierStore {
    /// The record's data key, nil when it has none yet (no document was ever stored). The
    /// stored value is the wrapping master key's id (16 ASCII hex digits) ‖ the sealed key.
    func dataKey(_ patient: PatientID) throws -> SymmetricKey? {
        guard let wrapped = try database.get(Keys.dataKey(patient), in: families.meta) else { return nil }
        return try unwrap(wrapped, patient: patient)
    }

    func unwrap(_ wrapped: [UInt8], patient: PatientID) throws -> SymmetricKey {
        guard wrapped.count > 16 else { throw CorruptValueError(family: Keys.Family.meta) }
        let id = String(decoding: wrapped.prefix(16), as: UTF8.self)
        guard let master = [masterKey, previousMasterKey].compactMap({ $0 }).first(where: { $0.id == id }) else {
            throw SealingError("a data key is wrapped by master key \(id), which this server was not given")
        }
        return SymmetricKey(data: try Sealing.open(Array(wrapped.dropFirst(16)), key: master.key, boundTo: Keys.dataKey(patient)))
    }

    func wrap(_ key: SymmetricKey, patient: PatientID) throws -> [UInt8] {
        let sealed = try key.withUnsafeBytes { try Sealing.seal(Array($0), key: masterKey.key, boundTo: Keys.dataKey(patient)) }
        return Array(masterKey.id.utf8) + sealed
    }

    /// The record's data key, created and staged in `batch` when missing. Callers hold the
    /// record's lock.
    func dataKey(_ patient: PatientID, creatingIn batch: WriteBatch) throws -> SymmetricKey {
        if let key = try dataKey(patient) { return key }
        let key = SymmetricKey(size: .bits256)
        batch.put(Keys.dataKey(patient), try wrap(key, patient: patient), in: families.meta)
        return key
    }

    /// Records whose data key is still wrapped by the previous master key.
    private func staleDataKeys(previous: MasterKey) throws -> [PatientID] {
        var stale: [PatientID] = []
        try database.scan(prefix: [UInt8(ascii: "k")], in: families.meta) { key, value in
            if value.count > 16, String(decoding: value.prefix(16), as: UTF8.self) == previous.id,
                let patient = PatientID(rawValue: String(decoding: key.dropFirst(), as: UTF8.self))
            {
                stale.append(patient)
            }
            return true
        }
        return stale
    }

    /// How many data keys a rotation still has to re-wrap (0 when none is under way).
    public func staleDataKeyCount() async throws -> Int {
        guard let previous = previousMasterKey else { return 0 }
        return try await run { [self] in try staleDataKeys(previous: previous).count }
    }

    /// Re-wraps with the current master key up to `limit` data keys wrapped by the previous
    /// one, each under its record's lock (a purge cannot race it). Contents are not touched.
    public func rewrapDataKeys(limit: Int) async throws -> (rewrapped: UInt64, remaining: UInt64) {
        guard let previous = previousMasterKey else { return (0, 0) }
        return try await run { [self] in
            let stale = try staleDataKeys(previous: previous)
            var done: UInt64 = 0
            for patient in stale.prefix(limit) {
                try locks.withLocks(for: [patient.rawValue]) {
                    guard let wrapped = try database.get(Keys.dataKey(patient), in: families.meta),
                        String(decoding: wrapped.prefix(16), as: UTF8.self) == previous.id
                    else { return }
                    let key = try unwrap(wrapped, patient: patient)
                    try database.put(Keys.dataKey(patient), try wrap(key, patient: patient), in: families.meta, sync: true)
                    done += 1
                }
            }
            return (done, UInt64(stale.count) - done)
        }
    }

    /// The hex keyed hash that stands for a client unique id in index keys, so that client ids
    /// (which may say something about the document) are not in clear either.
    static func blindedID(_ clientID: String, key: SymmetricKey) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: Array(clientID.utf8), using: key)).hex
    }
}
