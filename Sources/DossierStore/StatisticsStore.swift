public import DossierCore
import Crypto
import Foundation
import RocksDB

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
        var records: [Record] = []
        try database.scan(prefix: [UInt8](), in: families.records) { _, value in
            records.append(try RecordCodec.decodeRecord([UInt8](value)))
            return true
        }
        for record in records {
            let settings = try AccessSettingsCodec.load(record.patientID, from: database, family: families.grants)
            counts.add(record: record, settings: settings, at: now)
        }
    }

    /// Document entries are `patient ‖ 0x00 ‖ "D" ‖ id`, sealed with the record's data key;
    /// other keys of the family are skipped.
    private func countDocuments(into counts: inout StoredCounts) throws {
        var keys: (patient: [UInt8], key: SymmetricKey?)? = nil
        try database.scan(prefix: [UInt8](), in: families.documents) { key, value in
            guard let separator = key.firstIndex(of: 0x00), separator + 1 < key.count,
                key[separator + 1] == Keys.DocumentEntry.document.rawValue, key.first != 0x7E
            else { return true }
            let patientBytes = Array(key[..<separator])
            if keys?.patient != patientBytes {
                guard let patient = PatientID(rawValue: String(decoding: patientBytes, as: UTF8.self)) else {
                    throw CorruptValueError(family: Keys.Family.documents)
                }
                keys = (patientBytes, try dataKey(patient))
            }
            guard let dataKey = keys?.key else { throw CorruptValueError(family: "sealed value without a data key") }
            counts.add(document: try DocumentCodec.decodeDocument(try Sealing.open(value, key: dataKey, boundTo: Array(key))))
            return true
        }
    }

    private func countEvents(into counts: inout StoredCounts) throws {
        try database.scan(prefix: Keys.statisticsPrefix, in: families.meta) { key, _ in
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
