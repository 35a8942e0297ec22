import DossierCore
import Foundation

/// The export as a FHIR R4 Bundle of type `collection` in `bundle.json`, with each content
/// beside it as `documents/<id>` (decision 0007; the mapping is docs/FHIR-MAPPING.md).
public struct FHIRExportFormat: RecordExportFormat {
    public init() {}

    public var indexPath: String { "bundle.json" }

    public func contentPath(_ document: Document) -> String { "documents/\(document.id)" }

    public func opening(_ record: Record, patient: PatientID, exportedAt: Date) -> [UInt8] {
        let head = #"{"resourceType":"Bundle","meta":{"lastUpdated":"\#(FHIRTime.instant(exportedAt))"},"#
            + #""identifier":{"system":"urn:dossier:export","value":"\#(FHIRVocabulary.fullURL("Export", patient.rawValue + "@" + FHIRTime.instant(exportedAt)))"},"#
            + #""type":"collection","timestamp":"\#(FHIRTime.instant(exportedAt))","entry":["#
        return Array(head.utf8) + Self.entry(FHIRResources.patient(record), fullURL: FHIRResources.patientURL(patient), first: true)
    }

    public func document(_ document: Document) -> [UInt8] {
        Self.entry(FHIRResources.documentReference(document), fullURL: FHIRVocabulary.fullURL("DocumentReference", document.id))
    }

    public func logEntry(_ entry: SequencedLogEntry, patient: PatientID) -> [UInt8] {
        Self.entry(
            FHIRResources.auditEvent(entry, patient: patient),
            fullURL: FHIRVocabulary.fullURL("AuditEvent", "\(patient.rawValue)/\(entry.sequence)"))
    }

    public func consent(_ item: ConsentItem, index: Int, patient: PatientID) -> [UInt8] {
        Self.entry(
            FHIRResources.consent(item, index: index, patient: patient),
            fullURL: FHIRVocabulary.fullURL("Consent", "\(patient.rawValue)/\(index)"))
    }

    public func closing() -> [UInt8] { Array("\n]}\n".utf8) }

    /// One Bundle entry on its own line (every entry but the first starts with a comma).
    static func entry(_ resource: JSONValue, fullURL: String, first: Bool = false) -> [UInt8] {
        Array((first ? "\n" : ",\n").utf8) + JSONValue.object([("fullUrl", .string(fullURL)), ("resource", resource)]).bytes
    }
}
