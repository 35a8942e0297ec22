public import DossierCore

extension DossierStore {
    /// The records on which `delegateID` was named delegate (active or not), by patient id.
    /// Index keys are "~D" ‖ HMAC(index key, delegate id) ‖ handle; values are sealed with the
    /// record's data key. Entries of purged records (no keys any more) are skipped.
    public func delegations(of delegateID: String) async throws -> [(patient: PatientID, delegation: Delegation)] {
        try await read { [self] in
            let prefix = Keys.delegationIndexPrefix(keyStore.blindIndex(delegateID))
            var found: [(PatientID, Delegation)] = []
            for entry in try engine.entries(withPrefix: prefix, in: .grants) {
                guard let handle = RecordHandle(entry.key.dropFirst(prefix.count)) else { throw CorruptValueError(family: Keys.Family.grants) }
                guard let keys = try keyStore.keys(for: handle) else { continue }
                found.append((keys.patient, try AccessSettingsCodec.decodeDelegation(try keys.open(entry.value, at: entry.key))))
            }
            return found
        }
    }
}
