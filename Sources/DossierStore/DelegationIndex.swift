public import DossierCore
import RocksDB

extension DossierStore {
    /// The records on which `delegateID` was named delegate (active or not), by patient id.
    public func delegations(of delegateID: String) async throws -> [(patient: PatientID, delegation: Delegation)] {
        try await read { [self] in
            let prefix = Keys.delegationIndexPrefix(delegateID)
            var found: [(PatientID, Delegation)] = []
            var failure: (any Error)?
            try database.scan(prefix: prefix, in: families.grants) { key, value in
                do {
                    guard let patient = PatientID(rawValue: String(decoding: key.dropFirst(prefix.count), as: UTF8.self)) else {
                        throw CorruptValueError(family: Keys.Family.grants)
                    }
                    found.append((patient, try AccessSettingsCodec.decodeDelegation([UInt8](value))))
                    return true
                } catch {
                    failure = error
                    return false
                }
            }
            if let failure { throw failure }
            return found
        }
    }
}
