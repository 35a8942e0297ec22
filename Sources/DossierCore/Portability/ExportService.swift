import Foundation

/// The patient's copy of the whole record (EHDS Art. 3 and 7), page by page: the index (the
/// record, every document version, the access log, the patient's access decisions) then every
/// content, in pieces of at most `maxPageBytes` a call. The server holds one page at a time.
///
/// Only the patient and their delegate export (never a professional or an operator); every page
/// re-checks it. The first page is logged (`exportRecord`); the following ones are not (refusals
/// are, like any other). An export covers the documents and log entries that existed at its
/// first page.
public struct ExportService: Sendable {
    public let repository: any RecordRepository & LogChainRepository
    public let format: any RecordExportFormat
    public let clock: @Sendable () -> Date

    public static let maxPageBytes = 1 << 20
    /// Log entries read at once.
    static let logBatch = 256

    public init(
        repository: any RecordRepository & LogChainRepository, format: any RecordExportFormat,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.format = format
        self.clock = clock
    }

    /// The page that starts at `cursor` (nil: the first page). `maxBytes` 0 = the largest page.
    public func page(_ patient: PatientID, cursor: ExportCursor?, maxBytes: Int, by caller: Principal) async throws -> ExportPage {
        let now = clock()
        let budget = maxBytes <= 0 ? Self.maxPageBytes : min(maxBytes, Self.maxPageBytes)
        let first = cursor == nil
        let format = self.format
        let (record, settings, started) = try await RecordOperationRunner(repository: repository).perform(
            .exportRecord, on: patient, by: caller, at: now, authorize: { relation, _ in AccessLogService.decide(relation) },
            body: { tx, _ -> (Record, RecordAccessSettings, ExportCursor) in
                let record = try RecordOperationRunner.existing(tx)
                guard first else {
                    tx.skipsSuccessLog = true
                    return (record, tx.settings, cursor!)
                }
                var start = ExportCursor()
                start.exportedAt = now
                start.documentLimit = try tx.storage.documentCount()
                let limit = start.documentLimit
                try tx.storage.forEachDocument(newestFirst: false, after: nil) { document in
                    guard document.depositSequence <= limit else { return false }
                    if Self.exported(document) {
                        start.documentCount += 1
                        start.contentTotal += document.sizeBytes
                    }
                    return true
                }
                return (record, tx.settings, start)
            })
        var c = started
        if first {
            // The head now includes this export's own entry.
            c.logLimit = try await repository.readLogHead(patient).sequence
        }
        let consents = ConsentItem.all(settings)
        var page = ExportPage()
        var index: [UInt8] = []
        let indexStart = c.indexOffset
        var used = 0
        func fits(_ count: Int) -> Bool { used == 0 || used + count <= budget }
        func add(_ bytes: [UInt8]) {
            index += bytes
            used += bytes.count
            c.indexOffset += UInt64(bytes.count)
        }

        pages: while used < budget && c.phase != .done {
            switch c.phase {
            case .opening:
                add(format.opening(record, patient: patient, exportedAt: c.exportedAt))
                c.phase = .documents
                c.after = 0
            case .documents:
                let (items, last, end) = try await documentEntries(patient, after: c.after, limit: c.documentLimit, room: budget - used, force: used == 0)
                for item in items { add(item) }
                c.after = last
                if end {
                    c.phase = .log
                    c.after = 0
                } else {
                    break pages
                }
            case .log:
                let entries = try await repository.readAccessLog(
                    patient, AccessLogQuery(newestFirst: false, after: c.after == 0 ? nil : c.after, limit: Self.logBatch))
                var end = entries.count < Self.logBatch
                for entry in entries {
                    guard entry.sequence <= c.logLimit else {
                        end = true
                        break
                    }
                    let bytes = format.logEntry(entry, patient: patient)
                    guard fits(bytes.count) else { break pages }
                    add(bytes)
                    c.after = entry.sequence
                }
                if end || c.after >= c.logLimit {
                    c.phase = .consents
                    c.after = 0
                }
            case .consents:
                while Int(c.after) < consents.count {
                    let bytes = format.consent(consents[Int(c.after)], index: Int(c.after), patient: patient)
                    guard fits(bytes.count) else { break pages }
                    add(bytes)
                    c.after += 1
                }
                c.phase = .closing
            case .closing:
                let bytes = format.closing()
                guard fits(bytes.count) else { break pages }
                add(bytes)
                c.phase = .contents
                c.after = 0
            case .contents:
                guard let piece = try await contentPiece(patient, cursor: &c, room: budget - used) else {
                    c.phase = .done
                    break
                }
                used += piece.data.count
                c.contentDone += UInt64(piece.data.count)
                if !index.isEmpty {
                    page.pieces.append(ExportPiece(path: format.indexPath, offset: indexStart, data: index, last: true))
                    index = []
                }
                page.pieces.append(piece)
            case .done:
                break pages
            }
        }
        if !index.isEmpty {
            page.pieces.append(
                ExportPiece(path: format.indexPath, offset: indexStart, data: index, last: c.phase.rawValue > ExportCursor.Phase.closing.rawValue))
        }
        page.next = c.phase == .done ? nil : c
        page.contentDone = c.contentDone
        page.contentTotal = c.contentTotal
        page.documentCount = c.documentCount
        return page
    }

    /// What the patient sees of a document (`DocumentAuthorization.canSee` for the patient and
    /// the delegate): all but those hidden from them.
    static func exported(_ document: Document) -> Bool {
        !document.hiddenFromPatient
    }

    /// The index entries of the documents after `after`, as many as fit in `room` (at least one
    /// when `force`); the last deposit sequence done and whether none is left.
    private func documentEntries(
        _ patient: PatientID, after: UInt64, limit: UInt64, room: Int, force: Bool
    ) async throws -> (items: [[UInt8]], last: UInt64, end: Bool) {
        let format = self.format
        return try await repository.transact(patient) { tx in
            var items: [[UInt8]] = []
            var used = 0
            var last = after
            var end = true
            let storage = tx.storage
            try storage.forEachDocument(newestFirst: false, after: after == 0 ? nil : after) { stored in
                guard stored.depositSequence <= limit else { return false }
                if Self.exported(stored) {
                    // A replacement hidden from the patient leaves no trace (DocumentAuthorization.presented).
                    let document = DocumentAuthorization.presented(stored) { id in
                        ((try? storage.document(id)) ?? nil).map(Self.exported) ?? false
                    }
                    let bytes = format.document(document)
                    guard used + bytes.count <= room || (force && items.isEmpty) else {
                        end = false
                        return false
                    }
                    items.append(bytes)
                    used += bytes.count
                }
                last = stored.depositSequence
                return true
            }
            return (items, last, end)
        }
    }

    /// The next piece of content (at most `room` bytes), advancing the cursor; nil when every
    /// content was sent.
    private func contentPiece(_ patient: PatientID, cursor: inout ExportCursor, room: Int) async throws -> ExportPiece? {
        let c = cursor
        let format = self.format
        let found: (ExportPiece, UInt64)? = try await repository.transact(patient) { tx in
            var result: (ExportPiece, UInt64)?
            try tx.storage.forEachDocument(newestFirst: false, after: c.after == 0 ? nil : c.after) { document in
                guard document.depositSequence <= c.documentLimit else { return false }
                guard Self.exported(document) else { return true }
                let offset = document.depositSequence == c.inProgress ? min(c.offset, document.sizeBytes) : 0
                let count = Int(min(UInt64(room), document.sizeBytes - offset))
                let data = try tx.storage.readContent(document.content, offset: offset, length: count)
                guard data.count == count else { throw DossierError(.internalError, "the stored content is shorter than its size") }
                let piece = ExportPiece(
                    path: format.contentPath(document), offset: offset, data: data,
                    last: offset + UInt64(count) == document.sizeBytes, totalSize: document.sizeBytes, sha256: document.sha256)
                result = (piece, document.depositSequence)
                return false
            }
            return result
        }
        guard let (piece, sequence) = found else { return nil }
        if piece.last {
            cursor.after = sequence
            cursor.inProgress = 0
            cursor.offset = 0
        } else {
            cursor.inProgress = sequence
            cursor.offset = piece.offset + UInt64(piece.data.count)
        }
        return piece
    }
}
