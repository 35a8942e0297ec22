import Foundation

/// One of the patient's decisions about access, as an export lists them (FHIR: a Consent each).
public enum ConsentItem: Sendable, Hashable {
    case grant(AccessGrant)
    case delegation(Delegation)
    case block(ProfessionalBlock)
    /// Whether the patient refused emergency access in advance, and since when.
    case emergencyPreference(refused: Bool, updatedAt: Date?)

    /// Every decision of `settings`, in a stable order (grants, delegations, blocks, emergency).
    public static func all(_ settings: RecordAccessSettings) -> [ConsentItem] {
        settings.grants.map(ConsentItem.grant) + settings.delegations.map(ConsentItem.delegation)
            + settings.blocks.map(ConsentItem.block)
            + [.emergencyPreference(refused: settings.emergencyRefused, updatedAt: settings.emergencyPreferenceUpdatedAt)]
    }
}

/// How an export is written (HL7 FHIR in DossierFHIR): the domain decides what goes in, in
/// which order and for whom; the format turns each part into bytes of the index file
/// (`indexPath`). The index is the concatenation of `opening`, the items (each begins with its
/// own separator), and `closing`.
public protocol RecordExportFormat: Sendable {
    /// The file listing the record, e.g. "bundle.json".
    var indexPath: String { get }
    /// Where a document's content goes in the export.
    func contentPath(_ document: Document) -> String
    /// The start of the index, with the record itself (FHIR: the Bundle and its Patient).
    func opening(_ record: Record, patient: PatientID, exportedAt: Date) -> [UInt8]
    func document(_ document: Document) -> [UInt8]
    func logEntry(_ entry: SequencedLogEntry, patient: PatientID) -> [UInt8]
    func consent(_ item: ConsentItem, index: Int, patient: PatientID) -> [UInt8]
    func closing() -> [UInt8]
}

/// Where an export stands between two pages (sealed into the page token by the server).
public struct ExportCursor: Sendable, Hashable {
    public enum Phase: UInt8, Sendable {
        case opening = 0, documents, log, consents, closing, contents, done
    }

    public var phase: Phase = .opening
    /// documents, contents: the deposit sequence of the last document done; log: the last
    /// sequence done; consents: the number of items done.
    public var after: UInt64 = 0
    /// contents: the document in progress (its deposit sequence) and the offset in it.
    public var inProgress: UInt64 = 0
    public var offset: UInt64 = 0
    /// Bytes of the index written so far.
    public var indexOffset: UInt64 = 0
    /// What the export covers: documents and log entries up to these, fixed at its first call.
    public var documentLimit: UInt64 = 0
    public var logLimit: UInt64 = 0
    public var contentDone: UInt64 = 0
    public var contentTotal: UInt64 = 0
    public var documentCount: UInt32 = 0
    public var exportedAt = Date(timeIntervalSince1970: 0)

    public init() {}

    static let magic: [UInt8] = Array("dx1".utf8)

    /// Fixed-width big-endian bytes.
    public var bytes: [UInt8] {
        var out = Self.magic + [phase.rawValue]
        for value in [after, inProgress, offset, indexOffset, documentLimit, logLimit, contentDone, contentTotal] {
            withUnsafeBytes(of: value.bigEndian) { out += $0 }
        }
        withUnsafeBytes(of: documentCount.bigEndian) { out += $0 }
        withUnsafeBytes(of: Int64((exportedAt.timeIntervalSince1970 * 1_000_000).rounded()).bigEndian) { out += $0 }
        return out
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.magic.count + 1 + 8 * 8 + 4 + 8, Array(bytes.prefix(3)) == Self.magic,
            let phase = Phase(rawValue: bytes[3])
        else { return nil }
        func u64(_ at: Int) -> UInt64 { bytes[at..<at + 8].reduce(0) { ($0 << 8) | UInt64($1) } }
        self.phase = phase
        var at = 4
        var values: [UInt64] = []
        for _ in 0..<8 {
            values.append(u64(at))
            at += 8
        }
        (after, inProgress, offset, indexOffset) = (values[0], values[1], values[2], values[3])
        (documentLimit, logLimit, contentDone, contentTotal) = (values[4], values[5], values[6], values[7])
        documentCount = bytes[at..<at + 4].reduce(0) { ($0 << 8) | UInt32($1) }
        at += 4
        exportedAt = Date(timeIntervalSince1970: Double(Int64(bitPattern: u64(at))) / 1_000_000)
    }
}

/// A run of bytes of one file of an export.
public struct ExportPiece: Sendable, Hashable {
    public let path: String
    public let offset: UInt64
    public var data: [UInt8]
    public var last: Bool
    /// Contents: the whole content's size and SHA-256.
    public let totalSize: UInt64
    public let sha256: [UInt8]

    public init(path: String, offset: UInt64, data: [UInt8], last: Bool, totalSize: UInt64 = 0, sha256: [UInt8] = []) {
        self.path = path
        self.offset = offset
        self.data = data
        self.last = last
        self.totalSize = totalSize
        self.sha256 = sha256
    }
}

/// One page of an export: its pieces, and the cursor of the rest (nil when done).
public struct ExportPage: Sendable {
    public var pieces: [ExportPiece] = []
    public var next: ExportCursor?
    public var contentDone: UInt64 = 0
    public var contentTotal: UInt64 = 0
    public var documentCount: UInt32 = 0
}
