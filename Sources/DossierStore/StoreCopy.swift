public import DossierCore
import Crypto
import Foundation

/// What moving a deployment's data to another engine did (docs/OPERATIONS.md, section 16).
public struct StoreCopyReport: Sendable {
    /// Rows copied, by family.
    public var rows: [StoreFamily: Int] = [:]
    /// Bytes of keys and values copied.
    public var bytes = 0
    /// Records whose access log was verified on the target, and their entries.
    public var records = 0
    public var logEntries: UInt64 = 0
}

/// Why a copy stopped: the target holds data, a family differs after the copy, a chain fails.
public struct StoreCopyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension DossierStore {
    /// Copies every row of the embedded store in `dataDirectory` into `target` as it is —
    /// sealed, bound to its key, which the copy keeps, so the same key store opens both — then
    /// checks that each family holds the same rows on both sides (one SHA-256 over each
    /// family's rows in key order). The directory must not be in use (RocksDB's lock refuses a
    /// running server's) and `target` must hold no data. The format marker, which names the key
    /// store, is copied last: an interrupted copy leaves a target no server opens.
    public static func copyEmbeddedData(
        fromDataDirectory path: String, to target: any StoreEngine, progress: (StoreFamily, Int) -> Void = { _, _ in }
    ) throws -> StoreCopyReport {
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: path).appendingPathComponent("CURRENT").path) else {
            throw StoreCopyError("\(path) is not a data directory of the embedded store")
        }
        if try target.get(Keys.format, in: .meta) != nil {
            throw StoreCopyError("the target already holds a deployment's data")
        }
        guard try target.entries(withPrefix: [], in: .records, limit: 1).isEmpty else {
            throw StoreCopyError("the target holds records of an interrupted copy: empty it (drop and migrate the schema) and start again")
        }
        let source = try RocksDBEngine(path: path, blockCacheBytes: 64 << 20, memtableBytes: 64 << 20)
        defer { source.close() }
        var report = StoreCopyReport()
        var format: [UInt8]?
        for family in StoreFamily.allCases {
            var batch = StoreBatch()
            var batchBytes = 0
            var rows = 0
            try source.scan(family, from: nil, to: nil, reverse: false) { entry in
                if family == .meta, entry.key == Keys.format {
                    format = entry.value
                    return true
                }
                batch.put(entry.key, entry.value, in: family)
                batchBytes += entry.key.count + entry.value.count
                rows += 1
                // Bounded memory: a few MiB per transaction, whatever the store's size.
                if batchBytes >= 4 << 20 || batch.count >= 2_000 {
                    try target.write(batch, durability: .durable)
                    report.bytes += batchBytes
                    (batch, batchBytes) = (StoreBatch(), 0)
                    progress(family, rows)
                }
                return true
            }
            if !batch.isEmpty { try target.write(batch, durability: .durable) }
            report.bytes += batchBytes
            report.rows[family] = rows
            progress(family, rows)
        }
        for family in StoreFamily.allCases {
            let (here, there) = (try digest(family, of: source, skipping: Keys.format), try digest(family, of: target, skipping: Keys.format))
            guard here == there else {
                throw StoreCopyError("the \(family.rawValue) family differs after the copy (\(here.rows) rows here, \(there.rows) there)")
            }
        }
        if let format { try target.put(Keys.format, format, in: .meta) }
        return report
    }

    /// A family's rows in key order, hashed (length-prefixed keys and values).
    private static func digest(_ family: StoreFamily, of engine: any StoreEngine, skipping skipped: [UInt8]) throws -> (rows: Int, hash: [UInt8]) {
        var hasher = SHA256()
        var rows = 0
        try engine.scan(family, from: nil, to: nil, reverse: false) { entry in
            guard !(family == .meta && entry.key == skipped) else { return true }
            for part in [entry.key, entry.value] {
                hasher.update(data: Keys.encode(UInt64(part.count)))
                hasher.update(data: part)
            }
            rows += 1
            return true
        }
        return (rows, Array(hasher.finalize()))
    }

    /// Verifies every record's access-log chain from its first entry (what a patient's
    /// `dossier log verify` recomputes); returns the records and entries verified.
    public func verifyEveryChain() async throws -> (records: Int, entries: UInt64) {
        var records = 0
        var entries: UInt64 = 0
        for patient in try await patientIDs() {
            let links = try await readLogChain(patient)
            switch LogVerification.verify(links, patient: patient, trusted: nil, signer: NoCheckpointSigner(), hash: { Array(SHA256.hash(data: $0)) }) {
            case .verified(let count, _, _):
                records += 1
                entries += count
            case .failed(let verified, let sequence, let failure, _):
                throw StoreCopyError("a record's access log does not verify: \(failure.rawValue) at entry \(sequence) (after \(verified))")
            }
        }
        return (records, entries)
    }
}

/// Verification without a checkpoint signs nothing and checks no signature.
private struct NoCheckpointSigner: LogSigner {
    var currentKeyID: String { "" }
    var keys: [LogSigningKey] { [] }
    func sign(_ text: [UInt8]) throws -> [UInt8] { [] }
    func isValid(_ signature: [UInt8], of text: [UInt8], keyID: String) -> Bool { false }
}
