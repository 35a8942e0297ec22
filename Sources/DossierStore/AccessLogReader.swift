public import DossierCore
import RocksDB

extension DossierStore {
    /// Reads up to `limit` entries of a record's access log with sequence > `after`, in order.
    public func accessLog(of patient: PatientID, after: UInt64, limit: Int) async throws -> [SequencedLogEntry] {
        try await run { [self] in
            let iterator = try database.iterator(
                in: families.accessLog, lowerBound: Keys.logEntry(patient, sequence: after &+ 1),
                upperBound: Keys.logHead(patient))
            var entries: [SequencedLogEntry] = []
            iterator.seekToFirst()
            while iterator.isValid && entries.count < limit {
                let (sequence, entry) = try RecordCodec.decodeLogEntry(iterator.value)
                entries.append(SequencedLogEntry(sequence: sequence, entry: entry))
                iterator.next()
            }
            try iterator.checkError()
            return entries
        }
    }
}
