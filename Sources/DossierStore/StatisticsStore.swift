public import DossierCore
import Crypto
import Foundation
import Synchronization

/// Statistics from maintained counts (decision 0010): every write that changes a figure appends
/// a sealed, timed delta row in its own batch; a read folds the rows whose time has come into the
/// base row. A read costs what was written since the last fold, never what is stored.
extension DossierStore: StatisticsRepository {
    public func countAll(at now: Date) async throws -> StoredCounts {
        try await run { [self] in StoredCounts(try foldStatistics(at: now)) }
    }
}

/// The statistics rows' key and the fold's state, kept by the store.
final class StatisticsLedger: Sendable {
    /// Derives the keys that seal the base and the deltas: derived from the key store's index
    /// key (never on disk).
    let key: SymmetricKey
    /// One fold at a time (it deletes the rows it adds to the base).
    let fold = Mutex(())
    /// Deltas staged since the last background fold.
    private let backlog = Mutex(0)
    /// A fold runs in the background past this many new deltas.
    static let backgroundFoldThreshold = 4096
    /// How long before the last fold a fold starts reading: far more than any transaction takes
    /// between taking its time and committing.
    static let lateCommitMargin: TimeInterval = 600
    /// Folds since the last one that read every delta.
    private let foldsSinceFullScan = Mutex(0)
    /// The sealing keys derived lately (`sealingKey(for:)`).
    private let dayKeys = Mutex<[String: SymmetricKey]>([:])

    /// Counts a fold; true when this one should read from the first delta (every 64th).
    func noteFold() -> Bool {
        foldsSinceFullScan.withLock { count in
            count += 1
            guard count >= 64 else { return false }
            count = 0
            return true
        }
    }

    init(key: [UInt8]) { self.key = SymmetricKey(data: key) }

    /// Counts `rows` new deltas; true when a background fold is due (and resets the count).
    func noteStaged(_ rows: Int) -> Bool {
        backlog.withLock { count in
            count += rows
            guard count >= Self.backgroundFoldThreshold else { return false }
            count = 0
            return true
        }
    }

    /// Plaintext of a row: format (2) ‖ time in ms (i64 BE) ‖ per counter: name length (u8) ‖
    /// name ‖ amount (i64 BE) ‖ zeros up to a multiple of `paddedTo` bytes, so that the sealed
    /// length does not tell which counters (a class, an emergency access) a write changed.
    func seal(_ tally: StatisticsTally, at time: Date, key rowKey: [UInt8]) throws -> [UInt8] {
        var plain: [UInt8] = [2]
        plain += Self.encode(Int64(exactly: (time.timeIntervalSince1970 * 1000).rounded(.down)) ?? 0)
        for (counter, amount) in tally.amounts {
            let name = Array(counter.name.utf8)
            plain.append(UInt8(name.count))
            plain += name
            plain += Self.encode(amount)
        }
        plain += [UInt8](repeating: 0, count: Self.paddedTo - plain.count % Self.paddedTo)  // at least one: the end
        return try Sealing.seal(plain, key: sealingKey(for: rowKey), boundTo: rowKey)
    }

    static let paddedTo = 128

    func open(_ sealed: [UInt8], key rowKey: [UInt8]) throws -> (time: Date, tally: StatisticsTally) {
        let plain = try Sealing.open(sealed, key: sealingKey(for: rowKey), boundTo: rowKey)
        let corrupt = CorruptValueError(family: Keys.Family.meta + " (statistics)")
        guard plain.count >= 9, plain[0] == 2 else { throw corrupt }
        let time = Date(timeIntervalSince1970: Double(Self.decode(plain[1..<9])) / 1000)
        var tally = StatisticsTally()
        var index = 9
        while index < plain.count {
            let length = Int(plain[index])
            index += 1
            if length == 0 { break }  // the padding
            guard index + length + 8 <= plain.count,
                let counter = StatisticsCounter(name: String(decoding: plain[index..<index + length], as: UTF8.self))
            else { throw corrupt }
            index += length
            tally[counter] += Self.decode(plain[index..<index + 8])
            index += 8
        }
        return (time, tally)
    }

    /// One AES-GCM key per day of deltas (by the day in the row's key), and one for the base:
    /// random nonces stay far below the 2^32 messages one key may seal.
    private func sealingKey(for rowKey: [UInt8]) -> SymmetricKey {
        let label: String
        if rowKey == Keys.statisticsBase {
            label = "base"
        } else {
            let minute = rowKey.count >= 9 ? rowKey[1..<9].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) } : 0
            label = "day:\(minute / 1_440)"
        }
        return dayKeys.withLock { keys in
            if let known = keys[label] { return known }
            if keys.count > 64 { keys.removeAll() }
            let derived = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(label.utf8), using: key)))
            keys[label] = derived
            return derived
        }
    }

    private static func encode(_ value: Int64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> Int64 {
        Int64(bitPattern: bytes.reduce(0) { ($0 << 8) | UInt64($1) })
    }
}

extension DossierStore {
    /// Stages timed changes of the figures as delta rows of `batch`.
    func stageStatistics(_ changes: [(time: Date, tally: StatisticsTally)], in batch: StoreBatch) throws {
        let changes = changes.filter { !$0.tally.isEmpty }
        guard !changes.isEmpty else { return }
        let now = changes[0].time
        for change in changes {
            let key = Keys.statisticsDelta(at: change.time, writtenAt: now)
            batch.put(key, try statistics.seal(change.tally, at: change.time, key: key), in: .meta)
        }
        if statistics.noteStaged(changes.count) {
            Task.detached { [self] in _ = try? await run { [self] in try foldStatistics(at: Date()) } }
        }
    }

    /// What a record transaction changes in the figures: its record and settings (from now on,
    /// expiries included), its documents, the events its log entries report.
    func statisticsChanges(
        of transaction: RecordTransaction, loggedEvents entries: [AccessLogEntry]
    ) throws -> [(time: Date, tally: StatisticsTally)] {
        let now = transaction.logEntries.first?.time ?? Date()
        var atNow = StatisticsTally()
        for entry in entries {
            if let event = StatisticsEvent(entry) { atNow[.event(StatisticsMonth(containing: entry.time), event)] += 1 }
        }
        let changes = transaction.documentChanges
        if !changes.documents.isEmpty {
            // Documents past the stored count are this transaction's deposits: nothing to read.
            let stored = changes.deposited > 0 ? try transaction.storage.documentCount() : .max
            for document in changes.documents.values {
                let old = document.depositSequence > stored ? nil : try transaction.storage.document(document.id)
                atNow += StatisticsContribution.of(document) - StatisticsContribution.of(old)
            }
        }
        var timed: [(time: Date, tally: StatisticsTally)] = []
        if transaction.updated != nil || transaction.updatedSettings != nil {
            timed = StatisticsContribution.changes(
                from: (transaction.current, transaction.settings), to: (transaction.record, transaction.effectiveSettings), at: now)
        }
        if let first = timed.first, first.time == now {
            timed[0].tally += atNow
        } else {
            timed.insert((now, atNow), at: 0)
        }
        return timed
    }

    /// What a purge takes away: everything the record and its documents still add, and one
    /// `purged` event.
    func statisticsChanges(ofPurging record: Record, settings: RecordAccessSettings, keys: RecordKeys, at now: Date) throws
        -> [(time: Date, tally: StatisticsTally)]
    {
        var timed = StatisticsContribution.changes(from: (record, settings), to: (nil, RecordAccessSettings()), at: now)
        var atNow = StatisticsTally()
        atNow[.event(StatisticsMonth(containing: now), .purged)] = 1
        atNow[.keyStorePurges] = 1
        try documentStorage(keys).forEachDocument(newestFirst: false, after: nil) { document in
            atNow -= StatisticsContribution.of(document)
            return true
        }
        if let first = timed.first, first.time == now {
            timed[0].tally += atNow
        } else {
            timed.insert((now, atNow), at: 0)
        }
        return timed
    }

    /// The figures at `now`: the base plus the deltas due by then, which become the new base
    /// (written with the deletion of exactly those deltas, in one batch).
    ///
    /// The deltas read start `lateCommitMargin` before the last fold, not at the first key:
    /// folded deltas leave tombstones that a scan from the start would step over, again and
    /// again, until compaction. A delta can only land behind the last fold if its transaction
    /// committed long after it took its time; every 64th fold, and the one at open, reads from
    /// the start all the same, so that even one behind a stepped-back clock is counted.
    func foldStatistics(at now: Date, fromStart: Bool = false) throws -> StatisticsTally {
        try statistics.fold.withLock { _ in
            guard let sealedBase = try engine.get(Keys.statisticsBase, in: .meta) else {
                throw CorruptValueError(family: Keys.Family.meta + " (the statistics base is missing)")
            }
            let opened = try statistics.open(sealedBase, key: Keys.statisticsBase)
            var base = opened.tally
            let lower = fromStart || statistics.noteFold()
                ? Keys.statisticsDeltaPrefix : Keys.statisticsDeltaStart(atDayOf: opened.time - StatisticsLedger.lateCommitMargin)
            let upper = Keys.statisticsDeltaBound(after: now)
            let batch = StoreBatch()
            if lower.lexicographicallyPrecedes(upper) {
                try engine.scan(.meta, from: lower, to: upper, reverse: false) { entry in
                    let delta = try statistics.open(entry.value, key: entry.key)
                    guard delta.time <= now else { return true }
                    base += delta.tally
                    batch.delete(entry.key, in: .meta)
                    return true
                }
            }
            if !batch.isEmpty {
                batch.put(Keys.statisticsBase, try statistics.seal(base, at: max(now, opened.time), key: Keys.statisticsBase), in: .meta)
                try engine.write(batch, durability: .durable)
            }
            return base
        }
    }

    /// Checks the statistics at open, and counts them by the scan when they cannot be trusted:
    /// a store without a base (new, or written by an earlier version: its clear event keys are
    /// folded in and deleted), or whose base recorded fewer purges than the key store destroyed
    /// (data restored from a backup taken before a purge, or a purge interrupted between its two
    /// writes). The scan gives the figures now and their later changes by themselves; the events
    /// per month, which no scan can recount, are kept, with the purges the data missed.
    func openStatistics() throws {
        let now = Date()
        let purges = try keyStore.purgeCount()
        let batch = StoreBatch()
        var events = StatisticsTally()
        if try engine.get(Keys.statisticsBase, in: .meta) != nil {
            let folded = try foldStatistics(at: now, fromStart: true)
            // An earlier version wrote here meanwhile (a downgrade): its clear event keys say so.
            let legacy = try !engine.entries(withPrefix: Keys.legacyStatisticsEventPrefix, in: .meta, limit: 1).isEmpty
            guard UInt64(clamping: folded[.keyStorePurges]) != purges || legacy else { return }
            for (counter, amount) in folded.amounts {
                if case .event = counter { events[counter] = amount }
            }
            events[.event(StatisticsMonth(containing: now), .purged)] += max(0, Int64(clamping: purges) - folded[.keyStorePurges])
            try engine.scan(prefix: Keys.statisticsDeltaPrefix, in: .meta) { entry in
                batch.delete(entry.key, in: .meta)
                return true
            }
        }
        events[.keyStorePurges] = Int64(clamping: purges)
        var base = events
        for change in try recountStatistics(at: now, legacyEventKeys: { batch.delete($0, in: .meta) }) {
            if change.time == now {
                base += change.tally
            } else {
                let key = Keys.statisticsDelta(at: change.time, writtenAt: now)
                batch.put(key, try statistics.seal(change.tally, at: change.time, key: key), in: .meta)
            }
        }
        batch.put(Keys.statisticsBase, try statistics.seal(base, at: now, key: Keys.statisticsBase), in: .meta)
        try engine.write(batch, durability: .durable)
    }

    /// The figures by scanning everything (records with their settings, document metadata, the
    /// earlier versions' event keys): at `now`, then each later change by itself. Used once per
    /// store, and by the tests as the oracle of the maintained counts.
    func recountStatistics(
        at now: Date, legacyEventKeys: ([UInt8]) -> Void = { _ in }
    ) throws -> [(time: Date, tally: StatisticsTally)] {
        var atNow = StatisticsTally()
        var later: [Date: StatisticsTally] = [:]
        for (keys, record) in try allRecords() {
            let settings = try AccessSettingsCodec.load(keys, from: engine)
            for change in StatisticsContribution.changes(from: (nil, RecordAccessSettings()), to: (record, settings), at: now) {
                if change.time == now { atNow += change.tally } else { later[change.time, default: StatisticsTally()] += change.tally }
            }
        }
        try countDocuments { atNow += StatisticsContribution.of($0) }
        try engine.scan(prefix: Keys.legacyStatisticsEventPrefix, in: .meta) { entry in
            let text = String(decoding: entry.key.dropFirst(), as: UTF8.self)
            let parts = text.split(separator: "/", maxSplits: 2)
            guard parts.count == 3, let month = StatisticsMonth(key: String(parts[0])),
                let event = StatisticsEvent(rawValue: String(parts[1]))
            else { throw CorruptValueError(family: Keys.Family.meta) }
            atNow[.event(month, event)] += 1
            legacyEventKeys(entry.key)
            return true
        }
        return [(now, atNow)] + later.sorted { $0.key < $1.key }.map { (time: $0.key, tally: $0.value) }
    }

    /// Document entries are `handle ‖ 0x00 ‖ "D" ‖ id`, sealed with the record's data key;
    /// other keys of the family are skipped, and so are records without keys.
    private func countDocuments(_ body: (Document) -> Void) throws {
        var current: (handle: RecordHandle, keys: RecordKeys?)? = nil
        try engine.scan(prefix: [0x01], in: .documents) { entry in
            let key = entry.key
            guard key.count > RecordHandle.length + 1, key[RecordHandle.length] == 0x00,
                key[RecordHandle.length + 1] == Keys.DocumentEntry.document.rawValue,
                let handle = RecordHandle(key.prefix(RecordHandle.length))
            else { return true }
            if current?.handle != handle { current = (handle, try keyStore.keys(for: handle)) }
            guard let keys = current?.keys else { return true }
            body(try DocumentCodec.decodeDocument(try keys.open(entry.value, at: key)))
            return true
        }
    }
}
