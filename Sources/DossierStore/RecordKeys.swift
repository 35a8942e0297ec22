import Crypto
import DossierCore
import Foundation

/// A record's pseudonym in the data directory: `0x01` ‖ 15 random bytes. Every key of the
/// record starts with it; only the key store links it to the patient (decision 0004). The
/// first byte keeps record keys apart from the `~`-prefixed index keys of the same families.
struct RecordHandle: Hashable, Sendable {
    static let length = 16
    let bytes: [UInt8]

    init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length, bytes.first == 0x01 else { return nil }
        self.bytes = Array(bytes)
    }

    static func random() -> RecordHandle {
        var generator = SystemRandomNumberGenerator()
        return RecordHandle([0x01] + (1..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })!
    }
}

/// What every value of one record is sealed with: its handle and data key, with the patient
/// they belong to.
struct RecordKeys: Sendable {
    let patient: PatientID
    let handle: RecordHandle
    let dataKey: SymmetricKey

    /// Seals a value stored at `storageKey` (bound to it: it does not open anywhere else).
    func seal(_ plaintext: some DataProtocol, at storageKey: [UInt8]) throws -> [UInt8] {
        try Sealing.seal(plaintext, key: dataKey, boundTo: storageKey)
    }

    func open(_ sealed: some ContiguousBytes, at storageKey: [UInt8]) throws -> [UInt8] {
        try Sealing.open(sealed, key: dataKey, boundTo: storageKey)
    }

    /// An identifier as it may appear inside the record's keys: HMAC-SHA-256 under the data
    /// key, so that it cannot be recognised without the key, nor at all after a purge.
    func blind(_ identifier: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(identifier.utf8), using: dataKey))
    }
}
