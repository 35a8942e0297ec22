public import DossierCore
import RocksDB

extension DossierStore {
    /// Reads up to `limit` entries of a record's access log with sequence > `after`, in order.
    public func accessLog(of patient: PatientID, after: UInt64, limit: Int) async throws -> [SequencedLogEntry] {
        try await readAccessLog(patient, AccessLogQuery(newestFirst: false, after: after, limit: limit))
    }

    public func readAccessLog(_ patient: PatientID, _ query: AccessLogQuery) async throws -> [SequencedLogEntry] {
        try await read { [self] in
            // Entries are keyed patient ‖ 0x00 ‖ sequence; the head key (patient ‖ 0x01) bounds them.
            var lower = Keys.logPrefix(patient)
            var upper = Keys.logHead(patient)
            if let after = query.after {
                if query.newestFirst {
                    upper = Keys.logEntry(patient, sequence: after)
                } else {
                    lower = Keys.logEntry(patient, sequence: after &+ 1)
                }
            }
            let iterator = try database.iterator(in: families.accessLog, lowerBound: lower, upperBound: upper)
            query.newestFirst ? iterator.seekToLast() : iterator.seekToFirst()
            var entries: [SequencedLogEntry] = []
            while iterator.isValid && entries.count < query.limit {
                let link = try RecordCodec.decodeLogLink(iterator.value)
                if query.matches(link.entry) {
                    entries.append(SequencedLogEntry(
                        sequence: link.sequence, entry: link.entry, prevHash: link.prevHash, entryHash: link.entryHash))
                }
                query.newestFirst ? iterator.previous() : iterator.next()
            }
            try iterator.checkError()
            return entries
        }
    }
}

extension DossierStore: LogChainRepository {
    public func readLogChain(_ patient: PatientID) async throws -> [StoredLogLink] {
        try await read { [self] in
            let iterator = try database.iterator(in: families.accessLog, lowerBound: Keys.logPrefix(patient), upperBound: Keys.logHead(patient))
            iterator.seekToFirst()
            var links: [StoredLogLink] = []
            while iterator.isValid {
                let key = iterator.key
                let sequence = key.count == Keys.logPrefix(patient).count + 8 ? Keys.decodeUInt64(Array(key.suffix(8))) ?? 0 : 0
                links.append(StoredLogLink(keySequence: sequence, content: try? RecordCodec.decodeLogLink(iterator.value)))
                iterator.next()
            }
            try iterator.checkError()
            return links
        }
    }

    public func readLogHead(_ patient: PatientID) async throws -> (sequence: UInt64, hash: [UInt8]) {
        try await read { [self] in try logHead(patient) }
    }
}
