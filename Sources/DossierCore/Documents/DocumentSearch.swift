import Foundation

/// Which documents FindDocuments returns: filters combine with AND, the values of one filter
/// with OR; an empty filter does not restrict.
public struct DocumentFilter: Sendable {
    public enum PatientSpace: Sendable { case any, only, exclude }

    public var classes: Set<DocumentClass> = []
    /// An empty system matches the code in any system.
    public var typeCodes: [Coding] = []
    public var createdFrom: Date?
    public var createdTo: Date?
    public var depositedFrom: Date?
    public var depositedTo: Date?
    public var authorIDs: Set<String> = []
    /// Empty = current only.
    public var statuses: Set<DocumentStatus> = []
    public var confidentialityLevels: Set<ConfidentialityLevel> = []
    public var patientSpace: PatientSpace = .any

    public init() {}

    public func matches(_ document: Document) -> Bool {
        let submission = document.submission
        if !classes.isEmpty, !classes.contains(submission.documentClass) { return false }
        if !typeCodes.isEmpty, !typeCodes.contains(where: { wanted in
            wanted.code == submission.typeCode.code && (wanted.system.isEmpty || wanted.system == submission.typeCode.system)
        }) { return false }
        if let createdFrom, submission.createdAt < createdFrom { return false }
        if let createdTo, submission.createdAt >= createdTo { return false }
        if let depositedFrom, document.depositedAt < depositedFrom { return false }
        if let depositedTo, document.depositedAt >= depositedTo { return false }
        if !authorIDs.isEmpty, !authorIDs.contains(document.author.id) { return false }
        if !(statuses.isEmpty ? [.current] : statuses).contains(document.status) { return false }
        if !confidentialityLevels.isEmpty, !confidentialityLevels.contains(document.confidentiality) { return false }
        switch patientSpace {
        case .any: return true
        case .only: return document.patientSpace
        case .exclude: return !document.patientSpace
        }
    }
}

/// The overview of a record for one caller: counts of what they see, and a timeline.
public struct RecordOverview: Sendable {
    public struct ClassCount: Sendable, Hashable {
        public let documentClass: DocumentClass
        public let count: UInt64
        public let latestCreatedAt: Date
    }

    public let classCounts: [ClassCount]
    public let visibleDocuments: UInt64
    public let patientSpaceDocuments: UInt64
    public let earliestCreatedAt: Date?
    public let latestCreatedAt: Date?
    public let timeline: [Document]
    /// The last timeline entry of this page, when more follow.
    public let next: Document?
}

extension DocumentService {
    /// The documents the caller may see that match `filter`, in deposit order (newest first
    /// unless `oldestFirst`), after the document with deposit sequence `after`. Invisible
    /// documents are skipped before filtering and counting, so nothing about them shows through.
    public func find(
        _ patient: PatientID, filter: DocumentFilter, oldestFirst: Bool, after: UInt64?, limit: Int, by caller: Principal
    ) async throws -> (documents: [Document], more: Bool) {
        try await perform(.findDocuments, .read, on: patient, by: caller, at: clock()) { tx, context in
            guard tx.current != nil else { throw DossierError(.notFound, "no record for this patient", reason: "RECORD_NOT_FOUND") }
            var page: [Document] = []
            var more = false
            let storage = tx.storage
            try storage.forEachDocument(newestFirst: !oldestFirst, after: after) { stored in
                guard context.canSee(stored) else { return true }
                let document = context.presented(stored, reading: storage)
                guard filter.matches(document) else { return true }
                guard page.count < limit else {
                    more = true
                    return false
                }
                page.append(document)
                return true
            }
            if page.contains(where: context.needsEmergency) { tx.neededEmergency = true }
            for document in page { tx.knownHidden[document.id] = document.hiddenFromPatient }
            tx.loggedDocumentIDs = page.map(\.id)
            return (page, more)
        }
    }

    /// Counts per class and a timeline (newest clinical date first) of what the caller sees.
    /// `after`: the (created_at, id) of the last entry of the previous page.
    public func overview(
        _ patient: PatientID, includeDeprecated: Bool, after: (createdAt: Date, id: String)?, limit: Int, by caller: Principal
    ) async throws -> RecordOverview {
        try await perform(.getRecordOverview, .read, on: patient, by: caller, at: clock()) { tx, context in
            guard tx.current != nil else { throw DossierError(.notFound, "no record for this patient", reason: "RECORD_NOT_FOUND") }
            var visible: [Document] = []
            let storage = tx.storage
            try storage.forEachDocument(newestFirst: true, after: nil) { stored in
                guard context.canSee(stored) else { return true }
                let document = context.presented(stored, reading: storage)
                if includeDeprecated || document.status == .current {
                    visible.append(document)
                }
                return true
            }
            var counts: [DocumentClass: (count: UInt64, latest: Date)] = [:]
            for document in visible {
                let created = document.submission.createdAt
                let previous = counts[document.documentClass] ?? (0, created)
                counts[document.documentClass] = (previous.count + 1, max(previous.latest, created))
            }
            let ordered = visible.sorted { ($0.submission.createdAt, $0.id) > ($1.submission.createdAt, $1.id) }
            let remaining = ordered.drop { document in
                guard let after else { return false }
                return (document.submission.createdAt, document.id) >= (after.createdAt, after.id)
            }
            let page = Array(remaining.prefix(limit))
            if visible.contains(where: context.needsEmergency) { tx.neededEmergency = true }
            return RecordOverview(
                classCounts: counts.map { RecordOverview.ClassCount(documentClass: $0.key, count: $0.value.count, latestCreatedAt: $0.value.latest) }
                    .sorted { $0.documentClass.rawValue < $1.documentClass.rawValue },
                visibleDocuments: UInt64(visible.count),
                patientSpaceDocuments: UInt64(visible.filter(\.patientSpace).count),
                earliestCreatedAt: visible.map(\.submission.createdAt).min(),
                latestCreatedAt: visible.map(\.submission.createdAt).max(),
                timeline: page, next: remaining.count > limit ? page.last : nil)
        }
    }
}
