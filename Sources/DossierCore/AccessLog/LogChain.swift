import Foundation

/// The hash chain of a record's access log (docs/ACCESS-LOG.md): each entry's hash commits to
/// the previous entry's hash and to every field of the entry, so that editing, removing,
/// inserting or reordering entries is detected.
public enum LogChain {
    public static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// The exact bytes whose SHA-256 is an entry's `entry_hash`.
    public static func canonicalBytes(_ entry: AccessLogEntry, patient: PatientID, sequence: UInt64, prevHash: [UInt8]) -> [UInt8] {
        var bytes = Array("dossier-log-entry-v2".utf8)
        func field(_ text: String) {
            let utf8 = Array(text.utf8)
            withUnsafeBytes(of: UInt32(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
        field(patient.rawValue)
        field(String(sequence))
        field(String(Int64((entry.time.timeIntervalSince1970 * 1_000_000).rounded())))
        field(entry.actor.kind.rawValue)
        field(entry.actor.id)
        field(entry.actor.profession ?? "")
        field(entry.actor.organisation ?? "")
        field(entry.actor.certificateSerial)
        field(entry.basis.rawValue)
        field(entry.operation.rawValue)
        field(String(entry.documentIDs.count))
        entry.documentIDs.forEach(field)
        field(entry.outcome.rawValue)
        field(entry.reason)
        field(entry.emergency ? "1" : "0")
        field(entry.details.emergencyReason)
        field(entry.details.subject?.kind.rawValue ?? "")
        field(entry.details.subject?.id ?? "")
        field(entry.details.grantID)
        field(entry.requestID)
        bytes.append(contentsOf: prevHash)
        return bytes
    }
}

/// One stored log entry as verification reads it: what the key says, and what the value holds
/// (nil when it does not decode).
public struct StoredLogLink: Sendable {
    public let keySequence: UInt64
    public let content: (sequence: UInt64, entry: AccessLogEntry, prevHash: [UInt8], entryHash: [UInt8])?

    public init(keySequence: UInt64, content: (sequence: UInt64, entry: AccessLogEntry, prevHash: [UInt8], entryHash: [UInt8])?) {
        self.keySequence = keySequence
        self.content = content
    }
}

/// A signed statement that a record's log had `sequence` entries ending with `headHash`.
public struct LogCheckpoint: Sendable, Hashable {
    public let patientID: String
    public let sequence: UInt64
    public let headHash: [UInt8]
    /// Whole seconds.
    public let signedAt: Date
    public let keyID: String
    public var signature: [UInt8]

    public init(patientID: String, sequence: UInt64, headHash: [UInt8], signedAt: Date, keyID: String, signature: [UInt8] = []) {
        self.patientID = patientID
        self.sequence = sequence
        self.headHash = headHash
        self.signedAt = Date(timeIntervalSince1970: signedAt.timeIntervalSince1970.rounded(.down))
        self.keyID = keyID
        self.signature = signature
    }

    /// The UTF-8 text the signature covers (access_log.proto, LogCheckpoint).
    public var signedText: [UInt8] {
        Array((
            "dossier-log-checkpoint-v1\n\(patientID)\n\(sequence)\n\(headHash.hex)\n"
                + "\(Int64(signedAt.timeIntervalSince1970))\n\(keyID)\n"
        ).utf8)
    }
}

/// Signs and checks checkpoints (Ed25519 in the server; injected, the domain knows no crypto).
public protocol LogSigner: Sendable {
    var currentKeyID: String { get }
    var keys: [LogSigningKey] { get }
    func sign(_ text: [UInt8]) throws -> [UInt8]
    func isValid(_ signature: [UInt8], of text: [UInt8], keyID: String) -> Bool
}

public struct LogSigningKey: Sendable, Hashable {
    public let keyID: String
    public let algorithm: String
    public let publicKey: [UInt8]
    public let validFrom: Date
    public let validUntil: Date?

    public init(keyID: String, algorithm: String, publicKey: [UInt8], validFrom: Date, validUntil: Date?) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.validFrom = validFrom
        self.validUntil = validUntil
    }
}

/// The outcome of verifying a record's chain.
public enum LogVerification: Sendable, Hashable {
    public enum Failure: String, Sendable, Hashable {
        case entryHashMismatch, chainBroken, sequenceGap, truncated, checkpointMismatch, checkpointSignatureInvalid
        case entryUnreadable
    }

    case verified(entries: UInt64, headSequence: UInt64, headHash: [UInt8])
    case failed(entriesVerified: UInt64, firstBadSequence: UInt64, failure: Failure, detail: String)

    /// Checks the whole chain from sequence 1, then the patient's trusted checkpoint if any.
    public static func verify(
        _ links: [StoredLogLink], patient: PatientID, trusted: LogCheckpoint?, signer: any LogSigner,
        hash: ([UInt8]) -> [UInt8]
    ) -> LogVerification {
        if let trusted, !signer.isValid(trusted.signature, of: trusted.signedText, keyID: trusted.keyID) {
            return .failed(
                entriesVerified: 0, firstBadSequence: trusted.sequence, failure: .checkpointSignatureInvalid,
                detail: "the checkpoint's signature does not verify with a key of this server")
        }
        var previous = LogChain.zeroHash
        var verified: UInt64 = 0
        var hashes: [UInt64: [UInt8]] = [:]
        for (index, link) in links.enumerated() {
            let expected = UInt64(index + 1)
            guard link.keySequence == expected else {
                return .failed(entriesVerified: verified, firstBadSequence: expected, failure: .sequenceGap, detail: "entry \(expected) is missing")
            }
            guard let content = link.content else {
                return .failed(entriesVerified: verified, firstBadSequence: expected, failure: .entryUnreadable, detail: "entry \(expected) does not decode")
            }
            guard content.sequence == expected else {
                return .failed(
                    entriesVerified: verified, firstBadSequence: expected, failure: .sequenceGap,
                    detail: "the entry stored at \(expected) says it is entry \(content.sequence)")
            }
            guard content.prevHash == previous else {
                return .failed(
                    entriesVerified: verified, firstBadSequence: expected, failure: .chainBroken,
                    detail: "entry \(expected) does not follow the entry before it")
            }
            let recomputed = hash(LogChain.canonicalBytes(content.entry, patient: patient, sequence: expected, prevHash: previous))
            guard recomputed == content.entryHash else {
                return .failed(
                    entriesVerified: verified, firstBadSequence: expected, failure: .entryHashMismatch,
                    detail: "entry \(expected) was changed after it was written")
            }
            previous = recomputed
            verified = expected
            if trusted?.sequence == expected { hashes[expected] = recomputed }
        }
        if let trusted {
            guard trusted.sequence <= verified else {
                return .failed(
                    entriesVerified: verified, firstBadSequence: verified + 1, failure: .truncated,
                    detail: "the log ends at \(verified), before the checkpoint's \(trusted.sequence)")
            }
            if trusted.sequence > 0, hashes[trusted.sequence] != trusted.headHash {
                return .failed(
                    entriesVerified: verified, firstBadSequence: trusted.sequence, failure: .checkpointMismatch,
                    detail: "entry \(trusted.sequence) is not the one the checkpoint signed")
            }
        }
        return .verified(entries: verified, headSequence: verified, headHash: previous)
    }
}

/// Reading a record's chain as stored, for verification.
public protocol LogChainRepository: Sendable {
    /// Every stored entry of the record's log, in key order, undecodable ones included.
    func readLogChain(_ patient: PatientID) async throws -> [StoredLogLink]
    /// The last sequence and its entry hash (0 and zeros for an empty log).
    func readLogHead(_ patient: PatientID) async throws -> (sequence: UInt64, hash: [UInt8])
}
