import DossierCore
import Foundation

/// The key layout of every column family (docs/DATA-MODEL.md is the reference).
///
/// Every key of a record starts with its handle (RecordHandle: 16 bytes, the first 0x01), never
/// with the patient id. Handles have a fixed length, so `handle ‖ 0x00 ‖ …` keys of one record
/// form a contiguous range no other record's keys can enter, `handle ‖ 0x01` sorts after them
/// (heads and counters), and per-record scans are prefix scans. Identifiers inside a record's
/// keys are blinded with its data key (RecordKeys.blind).
enum Keys {
    /// The families' names (StoreFamily is the one list), for messages and RocksDB's handles.
    enum Family {
        static let records = StoreFamily.records.rawValue
        static let documents = StoreFamily.documents.rawValue
        static let contents = StoreFamily.contents.rawValue
        static let grants = StoreFamily.grants.rawValue
        static let accessLog = StoreFamily.accessLog.rawValue
        static let meta = StoreFamily.meta.rawValue
        static let notifications = StoreFamily.notifications.rawValue
        static let all = StoreFamily.allCases.map(\.rawValue)
    }

    /// `records`: handle → StoredRecord.
    static func record(_ handle: RecordHandle) -> [UInt8] {
        handle.bytes
    }

    /// `access_log`: handle ‖ 0x00 ‖ sequence (u64 big-endian) → StoredLogEntry.
    static func logEntry(_ handle: RecordHandle, sequence: UInt64) -> [UInt8] {
        var key = handle.bytes
        key.append(0x00)
        withUnsafeBytes(of: sequence.bigEndian) { key.append(contentsOf: $0) }
        return key
    }

    /// `access_log`: handle ‖ 0x00 — the prefix of all of one record's entries.
    static func logPrefix(_ handle: RecordHandle) -> [UInt8] {
        handle.bytes + [0x00]
    }

    /// `access_log`: handle ‖ 0x01 → the last sequence number (u64 big-endian) ‖ its entry hash.
    static func logHead(_ handle: RecordHandle) -> [UInt8] {
        handle.bytes + [0x01]
    }

    /// Kinds of entries in the `grants` family, after `handle ‖ 0x00`.
    enum Setting: UInt8 {
        case grant = 0x47        // "G" ‖ grant id → StoredGrant
        case delegation = 0x44   // "D" ‖ blind(delegate id) → StoredDelegation
        case block = 0x42        // "B" ‖ blind(professional id) → StoredBlock
        case emergency = 0x45    // "E" → StoredEmergencyPreference
        case presenceCode = 0x50 // "P" → StoredPresenceCode
        case knownAccessor = 0x53 // "S" ‖ blind(kind:id) → kind:id (accessed the record before)
        case expiryNotified = 0x58 // "X" ‖ grant id → empty (the patient was told it expires soon)
        case notificationPreferences = 0x4E // "N" → StoredNotificationPreferences
        case rectification = 0x52 // "R" ‖ request id → StoredRectificationRequest
    }

    /// `grants`: handle ‖ 0x00 — the prefix of all of one record's access settings.
    static func settingsPrefix(_ handle: RecordHandle) -> [UInt8] {
        handle.bytes + [0x00]
    }

    /// `grants`: "~D" ‖ HMAC(index key, delegate id) ‖ handle → StoredDelegation sealed with the
    /// record's data key — the records a person is delegate for.
    static func delegationIndexPrefix(_ blindedDelegate: [UInt8]) -> [UInt8] {
        [0x7E, UInt8(ascii: "D")] + blindedDelegate
    }

    static func delegationIndex(_ blindedDelegate: [UInt8], handle: RecordHandle) -> [UInt8] {
        delegationIndexPrefix(blindedDelegate) + handle.bytes
    }

    static func setting(_ handle: RecordHandle, _ kind: Setting, id: [UInt8] = []) -> [UInt8] {
        settingsPrefix(handle) + [kind.rawValue] + id
    }

    /// `notifications`: handle ‖ 0x00 ‖ id (u64 big-endian) → StoredNotification; the head
    /// (last id) at handle ‖ 0x01, as for the access log.
    static func notification(_ handle: RecordHandle, id: UInt64) -> [UInt8] {
        logEntry(handle, sequence: id)
    }

    /// Kinds of entries in the `documents` family, after `handle ‖ 0x00`.
    enum DocumentEntry: UInt8 {
        case document = 0x44     // "D" ‖ deposit sequence (u64 BE) → StoredDocument: deposit order
        case clientID = 0x43     // "C" ‖ blind(author kind:id) ‖ blind(client unique id) → document id
        case upload = 0x53       // "S" ‖ upload id → StoredUpload
        case uploadClientID = 0x55 // "U" ‖ blind(creator kind:id) ‖ blind(client unique id) → upload id
        case index = 0x49        // "I" ‖ document id → StoredDocument (the same value: a covering index by id)
    }

    /// `documents`: handle ‖ 0x00 ‖ "D" ‖ deposit sequence (u64 BE) → StoredDocument. Searches
    /// and overviews read the record's documents in deposit order from one range.
    static func document(_ handle: RecordHandle, _ sequence: UInt64) -> [UInt8] {
        settingsPrefix(handle) + [DocumentEntry.document.rawValue] + encode(sequence)
    }

    /// `documents`: handle ‖ 0x00 ‖ "I" ‖ document id → StoredDocument, the same value as at its
    /// deposit-sequence key: a document read by id is one read.
    static func documentIndex(_ handle: RecordHandle, _ id: String) -> [UInt8] {
        documentEntry(handle, .index, id)
    }

    /// `access_log`: handle ‖ 0x01 ‖ "W" ‖ document id ‖ 0x00 — the prefix of the entries
    /// withheld until the document is released to the patient (decision 0005); each at
    /// prefix ‖ time (µs, u64 BE) ‖ 4 random bytes. After the head key, before the next record.
    static func withheldPrefix(_ handle: RecordHandle, documentID: String) -> [UInt8] {
        handle.bytes + [0x01, UInt8(ascii: "W")] + Array(documentID.utf8) + [0x00]
    }

    static func withheldEntry(_ handle: RecordHandle, documentID: String, time: Date) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return withheldPrefix(handle, documentID: documentID) + encode(UInt64(max(0, Time.micros(time))))
            + (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func documentEntry(_ handle: RecordHandle, _ kind: DocumentEntry, _ rest: String = "") -> [UInt8] {
        settingsPrefix(handle) + [kind.rawValue] + Array(rest.utf8)
    }

    static func principalKey(_ principal: Principal) -> String {
        "\(principal.kind.rawValue):\(principal.id)"
    }

    /// `documents`: handle ‖ 0x00 ‖ "C" or "U" ‖ blind(kind:id) — the prefix of one principal's
    /// client-id index entries (documents they deposited, uploads they opened).
    static func clientIndexPrefix(_ keys: RecordKeys, _ kind: DocumentEntry, _ principal: Principal) -> [UInt8] {
        settingsPrefix(keys.handle) + [kind.rawValue] + keys.blind(principalKey(principal))
    }

    /// One client-id index entry: the prefix ‖ the blinded client unique id.
    static func clientIndex(_ keys: RecordKeys, _ kind: DocumentEntry, _ principal: Principal, clientUniqueID: String) -> [UInt8] {
        clientIndexPrefix(keys, kind, principal) + keys.blind(clientUniqueID)
    }

    /// `documents`: handle ‖ 0x01 → number of documents deposited so far (u64 big-endian).
    static func documentCount(_ handle: RecordHandle) -> [UInt8] {
        handle.bytes + [0x01]
    }

    /// `documents`: "~U" ‖ upload id → handle: which record an upload session belongs to
    /// (UploadChunk names only the upload).
    static func uploadOwner(_ uploadID: String) -> [UInt8] {
        [0x7E, UInt8(ascii: "U")] + Array(uploadID.utf8)
    }

    /// `contents`: handle ‖ 0x00 ‖ content id ‖ 0x00 — the prefix of one content's chunks;
    /// each chunk at prefix ‖ offset (u64 big-endian).
    static func contentPrefix(_ handle: RecordHandle, _ content: ContentID) -> [UInt8] {
        settingsPrefix(handle) + Array(content.rawValue.utf8) + [0x00]
    }

    static func contentChunk(_ handle: RecordHandle, _ content: ContentID, offset: UInt64) -> [UInt8] {
        contentPrefix(handle, content) + encode(offset)
    }

    /// `meta`: "S" → the statistics base, sealed: every counter as of the last fold (decision
    /// 0010).
    static let statisticsBase: [UInt8] = [UInt8(ascii: "S")]

    /// `meta`: "t" ‖ minute since 1970 (u64 BE) ‖ 8 random bytes → a statistics delta, sealed
    /// (its exact time and the counters it changes, padded): unique without naming the record,
    /// so writers never contend, and ordered by time, so a fold reads only the due ones. A delta
    /// effective later than its write (an expiry, an objection end) is keyed by the first minute
    /// of its day: the key does not give the minute a grant or an access ends.
    static func statisticsDelta(at time: Date, writtenAt now: Date) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let minute = time > now ? minute(time) / 1_440 * 1_440 : minute(time)
        return statisticsDeltaPrefix + encode(minute) + withUnsafeBytes(of: generator.next() as UInt64) { Array($0) }
    }

    static let statisticsDeltaPrefix: [UInt8] = [UInt8(ascii: "t")]

    /// The first delta key of `time`'s UTC day.
    static func statisticsDeltaStart(atDayOf time: Date) -> [UInt8] {
        statisticsDeltaPrefix + encode(minute(time) / 1_440 * 1_440)
    }

    /// Just past the deltas of `time`'s minute.
    static func statisticsDeltaBound(after time: Date) -> [UInt8] {
        let minute = minute(time)
        return minute == .max ? [UInt8(ascii: "u")] : statisticsDeltaPrefix + encode(minute + 1)
    }

    private static func minute(_ time: Date) -> UInt64 {
        let minutes = (time.timeIntervalSince1970 / 60).rounded(.down)
        return minutes.isFinite ? UInt64(clamping: Int64(exactly: minutes) ?? (minutes < 0 ? 0 : .max)) : 0
    }

    /// `meta`: "s" ‖ yyyymm ‖ "/" ‖ event ‖ "/" ‖ random → empty: earlier versions' event keys,
    /// in clear; folded into the statistics base and deleted when a store gets one.
    static let legacyStatisticsEventPrefix: [UInt8] = [UInt8(ascii: "s")]

    /// `meta`: "F" → the data format (2) ‖ the id of the key store holding the records' keys.
    static let format: [UInt8] = [UInt8(ascii: "F")]
    static let formatVersion: UInt8 = 2

    static func encode(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func decodeUInt64(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }
}
