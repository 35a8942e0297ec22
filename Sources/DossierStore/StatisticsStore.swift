public import DossierCore
import Foundation

/// Statistics by scanning: records with their access settings, document metadata (never
/// contents), and the per-month event keys. Correct by construction; its cost grows with the
/// data (see BENCHMARKS.md).
extension DossierStore: StatisticsRepository {
    public func countAll(at now: Date) async throws -> StoredCounts {
        try await run { [self] in
            var counts = StoredCounts()
            try countRecords(into: &counts, at: now)
            try countDocuments(into: &counts)
            try countEvents(into: &counts)
            return counts
        }
    }

    private func countRecords(into counts: inout StoredCounts, at now: Date) throws {
        for (keys, record) in try allRecords() {
            let settings = try AccessSettingsCodec.load(keys, from: engine)
            counts.add(record: record, settings: settings, at: now)
        }
    }

    /// Document entries are `handle ‖ 0x00 ‖ "D" ‖ id`, sealed with the record's data key;
    /// other keys of the family are skipped, and so are records without keys.
    private func countDocuments(into counts: inout StoredCounts) throws {
        var current: (handle: RecordHandle, keys: RecordKeys?)? = nil
        try engine.scan(prefix: [0x01], in: .documents) { entry in
            let key = entry.key
            guard key.count > RecordHandle.length + 1, key[RecordHandle.length] == 0x00,
                key[RecordHandle.length + 1] == Keys.DocumentEntry.document.rawValue,
                let handle = RecordHandle(key.prefix(RecordHandle.length))
            else { return true }
            if current?.handle != handle { current = (handle, try keyStore.keys(for: handle)) }
            guard let keys = current?.keys else { return true }
            counts.add(document: try DocumentCodec.decodeDocument(try keys.open(entry.value, at: key)))
            return true
        }
    }

    private func countEvents(into counts: inout StoredCounts) throws {
        try engine.scan(prefix: Keys.statisticsPrefix, in: .meta) { entry in
            let key = entry.key
            let text = String(decoding: key.prefix(while: { $0 != 0x00 }).dropFirst(), as: UTF8.self)
            let parts = text.split(separator: "/", maxSplits: 2)
            guard parts.count == 3, let month = StatisticsMonth(key: String(parts[0])),
                let event = StatisticsEvent(rawValue: String(parts[1]))
            else { throw CorruptValueError(family: Keys.Family.meta) }
            counts.eventsByMonth[month, default: [:]][event, default: 0] += 1
            return true
        }
    }
}
