import DossierCore

/// The key layout of every column family (docs/DATA-MODEL.md is the reference).
///
/// Patient ids never contain the bytes 0x00 or 0x01 (see `PatientID`), so
/// `patient ‖ 0x00 ‖ …` keys of one record form a contiguous range that no other record's
/// keys can enter, and per-record scans are prefix scans.
enum Keys {
    enum Family {
        static let records = "records"
        static let documents = "documents"
        static let contents = "contents"
        static let grants = "grants"
        static let accessLog = "access_log"
        static let meta = "meta"
        static let notifications = "notifications"
        static let all = [records, documents, contents, grants, accessLog, notifications, meta]
    }

    /// `records`: patient id → StoredRecord.
    static func record(_ patient: PatientID) -> [UInt8] {
        Array(patient.rawValue.utf8)
    }

    /// `access_log`: patient ‖ 0x00 ‖ sequence (u64 big-endian) → StoredLogEntry.
    static func logEntry(_ patient: PatientID, sequence: UInt64) -> [UInt8] {
        var key = Array(patient.rawValue.utf8)
        key.append(0x00)
        withUnsafeBytes(of: sequence.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    /// `access_log`: patient ‖ 0x00 — the prefix of all of one record's entries.
    static func logPrefix(_ patient: PatientID) -> [UInt8] {
        Array(patient.rawValue.utf8) + [0x00]
    }

    /// `access_log`: patient ‖ 0x01 → the last sequence number (u64 big-endian).
    static func logHead(_ patient: PatientID) -> [UInt8] {
        Array(patient.rawValue.utf8) + [0x01]
    }

    /// Kinds of entries in the `grants` family, after `patient ‖ 0x00`.
    enum Setting: UInt8 {
        case grant = 0x47        // "G" ‖ grant id → StoredGrant
        case delegation = 0x44   // "D" ‖ delegate id → StoredDelegation
        case block = 0x42        // "B" ‖ professional id → StoredBlock
        case emergency = 0x45    // "E" → StoredEmergencyPreference
        case presenceCode = 0x50 // "P" → StoredPresenceCode
        case knownAccessor = 0x53 // "S" ‖ kind:id → empty (accessed the record before)
        case expiryNotified = 0x58 // "X" ‖ grant id → empty (the patient was told it expires soon)
    }

    /// `grants`: patient ‖ 0x00 — the prefix of all of one record's access settings.
    static func settingsPrefix(_ patient: PatientID) -> [UInt8] {
        Array(patient.rawValue.utf8) + [0x00]
    }

    /// `grants`: "~D" ‖ delegate id ‖ 0x00 ‖ patient id → StoredDelegation — who a person is a
    /// delegate for. "~" cannot start a patient id, so these keys never mix with records' keys.
    static func delegationIndexPrefix(_ delegateID: String) -> [UInt8] {
        [0x7E, UInt8(ascii: "D")] + Array(delegateID.utf8) + [0x00]
    }

    static func delegationIndex(_ delegateID: String, patient: PatientID) -> [UInt8] {
        delegationIndexPrefix(delegateID) + Array(patient.rawValue.utf8)
    }

    static func setting(_ patient: PatientID, _ kind: Setting, id: String = "") -> [UInt8] {
        settingsPrefix(patient) + [kind.rawValue] + Array(id.utf8)
    }

    /// `notifications`: patient ‖ 0x00 ‖ id (u64 big-endian) → StoredNotification; the head
    /// (last id) at patient ‖ 0x01, as for the access log.
    static func notification(_ patient: PatientID, id: UInt64) -> [UInt8] {
        logEntry(patient, sequence: id)
    }

    /// Kinds of entries in the `documents` family, after `patient ‖ 0x00`.
    enum DocumentEntry: UInt8 {
        case document = 0x44     // "D" ‖ document id → StoredDocument (ids sort in deposit order)
        case clientID = 0x43     // "C" ‖ author kind:id ‖ 0x00 ‖ client unique id → document id
        case upload = 0x53       // "S" ‖ upload id → StoredUpload
        case uploadClientID = 0x55 // "U" ‖ creator kind:id ‖ 0x00 ‖ client unique id → upload id
    }

    static func documentEntry(_ patient: PatientID, _ kind: DocumentEntry, _ rest: String = "") -> [UInt8] {
        settingsPrefix(patient) + [kind.rawValue] + Array(rest.utf8)
    }

    static func principalKey(_ principal: Principal) -> String {
        "\(principal.kind.rawValue):\(principal.id)"
    }

    /// `documents`: patient ‖ 0x00 ‖ "C" or "U" ‖ kind:id ‖ 0x00 — the prefix of one principal's
    /// client-id index entries (documents they deposited, uploads they opened).
    static func clientIndexPrefix(_ patient: PatientID, _ kind: DocumentEntry, _ principal: Principal) -> [UInt8] {
        documentEntry(patient, kind, principalKey(principal) + "\u{0}")
    }

    /// One client-id index entry: the prefix ‖ the blinded client unique id.
    static func clientIndex(_ patient: PatientID, _ kind: DocumentEntry, _ principal: Principal, blindedID: String) -> [UInt8] {
        clientIndexPrefix(patient, kind, principal) + Array(blindedID.utf8)
    }

    /// `documents`: patient ‖ 0x01 → number of documents deposited so far (u64 big-endian).
    static func documentCount(_ patient: PatientID) -> [UInt8] {
        Array(patient.rawValue.utf8) + [0x01]
    }

    /// `documents`: "~U" ‖ upload id → patient id: which record an upload session belongs to.
    static func uploadOwner(_ uploadID: String) -> [UInt8] {
        [0x7E, UInt8(ascii: "U")] + Array(uploadID.utf8)
    }

    /// `contents`: patient ‖ 0x00 ‖ content id ‖ 0x00 — the prefix of one content's chunks;
    /// each chunk at prefix ‖ offset (u64 big-endian).
    static func contentPrefix(_ patient: PatientID, _ content: ContentID) -> [UInt8] {
        settingsPrefix(patient) + Array(content.rawValue.utf8) + [0x00]
    }

    static func contentChunk(_ patient: PatientID, _ content: ContentID, offset: UInt64) -> [UInt8] {
        contentPrefix(patient, content) + encode(offset)
    }

    /// `meta`: "s" ‖ yyyymm ‖ "/" ‖ event ‖ "/" ‖ 16 random hex digits → empty: one key per
    /// counted event, unique without naming the record (purge leaves the counts and no trace of
    /// who), so writers never contend.
    static func statisticsEvent(_ month: StatisticsMonth, _ event: StatisticsEvent) -> [UInt8] {
        Array("s\(month.key)/\(event.rawValue)/\(randomSuffix())".utf8)
    }

    /// `meta`: "s" ‖ yyyymm ‖ "/purged/" ‖ random: one key per purged record.
    static func purgeEvent(_ month: StatisticsMonth) -> [UInt8] {
        Array("s\(month.key)/\(StatisticsEvent.purged.rawValue)/\(randomSuffix())".utf8)
    }

    private static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return withUnsafeBytes(of: (generator.next() as UInt64).bigEndian) { $0.hex }
    }

    static let statisticsPrefix: [UInt8] = [UInt8(ascii: "s")]

    /// `meta`: "k" ‖ patient id → the record's data key, sealed by the master key.
    static func dataKey(_ patient: PatientID) -> [UInt8] {
        [UInt8(ascii: "k")] + Array(patient.rawValue.utf8)
    }

    static func encode(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func decodeUInt64(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }
}
