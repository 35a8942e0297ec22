public import DossierCore

extension DossierStore {
    /// Reads up to `limit` entries of a record's access log with sequence > `after`, in order.
    public func accessLog(of patient: PatientID, after: UInt64, limit: Int) async throws -> [SequencedLogEntry] {
        try await readAccessLog(patient, AccessLogQuery(newestFirst: false, after: after, limit: limit))
    }

    public func readAccessLog(_ patient: PatientID, _ query: AccessLogQuery) async throws -> [SequencedLogEntry] {
        try await read { [self] in
            guard let keys = try keyStore.keys(for: patient) else { return [] }
            let handle = keys.handle
            // Entries are keyed handle ‖ 0x00 ‖ sequence; the head key (handle ‖ 0x01) bounds them.
            var lower = Keys.logPrefix(handle)
            var upper = Keys.logHead(handle)
            if let after = query.after {
                if query.newestFirst {
                    upper = Keys.logEntry(handle, sequence: after)
                } else {
                    lower = Keys.logEntry(handle, sequence: after &+ 1)
                }
            }
            var entries: [SequencedLogEntry] = []
            guard query.limit > 0 else { return entries }
            try engine.scan(.accessLog, from: lower, to: upper, reverse: query.newestFirst) { stored in
                let link = try RecordCodec.decodeLogLink(try keys.open(stored.value, at: stored.key))
                if query.matches(link.entry) {
                    entries.append(SequencedLogEntry(
                        sequence: link.sequence, entry: link.entry, prevHash: link.prevHash, entryHash: link.entryHash))
                }
                return entries.count < query.limit
            }
            return entries
        }
    }
}

extension DossierStore: LogChainRepository {
    /// Every stored entry in key order; an entry that does not open or decode (changed behind
    /// the server's back) is a link without content, which verification reports.
    public func readLogChain(_ patient: PatientID) async throws -> [StoredLogLink] {
        try await read { [self] in
            guard let keys = try keyStore.keys(for: patient) else { return [] }
            let prefix = Keys.logPrefix(keys.handle)
            var links: [StoredLogLink] = []
            try engine.scan(.accessLog, from: prefix, to: Keys.logHead(keys.handle), reverse: false) { stored in
                let key = stored.key
                let sequence = key.count == prefix.count + 8 ? Keys.decodeUInt64(Array(key.suffix(8))) ?? 0 : 0
                let content = try? RecordCodec.decodeLogLink(try keys.open(stored.value, at: key))
                links.append(StoredLogLink(keySequence: sequence, content: content))
                return true
            }
            return links
        }
    }

    public func readLogHead(_ patient: PatientID) async throws -> (sequence: UInt64, hash: [UInt8]) {
        try await read { [self] in try keyStore.keys(for: patient).map(logHead) ?? (0, LogChain.zeroHash) }
    }
}
