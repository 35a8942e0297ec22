import Crypto
import DossierCore
import Foundation
import RocksDB

/// Encryption at rest (docs/DATA-MODEL.md, "What is in clear"): every value of a record is
/// sealed with AES-256-GCM under the record's data key; data keys live in the key store
/// (KeyStore), wrapped (AES-256-GCM) by the master key the operator supplies. Every sealed value
/// is bound to its RocksDB key (additional authenticated data), so values cannot be swapped
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

    /// Reads the key from `path` (64 hex digits; KeyFile). dossierd never creates it.
    public static func load(path: String, allowOpenPermissions: Bool = false) throws -> MasterKey {
        try MasterKey(bytes: try KeyFile.read(path, what: "the master key", allowOpenPermissions: allowOpenPermissions))
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
    /// How many records' keys (and store keys) a rotation still has to re-wrap (0 when none is
    /// under way).
    public func staleDataKeyCount() async throws -> Int {
        try await run { [self] in try keyStore.staleHandles().count + (try keyStore.storeKeysAreStale() ? 1 : 0) }
    }

    /// Re-wraps with the current master key up to `limit` records' keys wrapped by the previous
    /// one, each under its record's lock (a purge cannot race it); then, when none is left, the
    /// key store's own keys and verifier. Contents are not touched.
    public func rewrapDataKeys(limit: Int) async throws -> (rewrapped: UInt64, remaining: UInt64) {
        try await run { [self] in
            let stale = try keyStore.staleHandles()
            var done: UInt64 = 0
            for handle in stale.prefix(limit) {
                guard let keys = try keyStore.keys(for: handle) else { continue }
                try locks.withLocks(for: [keys.patient.rawValue]) {
                    if try keyStore.rewrap(handle) { done += 1 }
                }
            }
            let remaining = UInt64(stale.count) - UInt64(min(stale.count, limit))
            if remaining == 0, try keyStore.storeKeysAreStale() { try keyStore.rewrapStoreKeys() }
            return (done, remaining)
        }
    }
}
