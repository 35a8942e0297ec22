import DossierCore
@testable import DossierFHIR
import Foundation
import Testing

@Suite struct DossierFHIRTests {
    static let patient = PatientID(rawValue: "1985010112345")!

    static func document() -> Document {
        let submission = DocumentSubmission(
            clientUniqueID: "lab-\"1\"", title: "Blood count\n(corrected) é", documentClass: .labResult,
            sensitiveCategories: [.genetics, .psychiatry], typeCode: Coding(system: "http://loinc.org", code: "11502-2", display: "Lab"),
            formatCode: Coding(system: "urn:ihe", code: "xd-lab"), mimeType: "application/pdf", language: "fr-LU",
            createdAt: Date(timeIntervalSince1970: 1_790_000_000.123456), serviceStart: Date(timeIntervalSince1970: 1_789_000_000.5),
            serviceEnd: Date(timeIntervalSince1970: 1_789_100_000), facilityType: Coding(system: "http://snomed.info/sct", code: "22232009"),
            practiceSetting: Coding(system: "http://snomed.info/sct", code: "394802001", display: "General medicine"),
            confidentiality: .restricted, hiddenFromPatient: true)
        var document = Document(
            id: "d-0123456789abcdef0123456789abcdef", patientID: patient, submission: submission,
            author: Principal(kind: .professional, id: "gp-1", profession: "gp", organisation: "cabinet", displayName: "Dr A", certificateSerial: "0a1b"),
            sizeBytes: 42, sha256: Array(repeating: 7, count: 32), depositedAt: Date(timeIntervalSince1970: 1_790_000_100.000001),
            patientSpace: false, content: ContentID("d-0123456789abcdef0123456789abcdef"), replacesID: "d-ffff")
        document.confidentiality = .secret
        document.hiddenFromPatient = false
        document.releasedAt = Date(timeIntervalSince1970: 1_790_000_200)
        document.status = .deprecated
        document.replacedByID = "d-eeee"
        document.deprecationReason = "replaced"
        document.deprecatedAt = Date(timeIntervalSince1970: 1_790_000_300.25)
        document.version = 4
        return document
    }

    @Test func aDocumentReferenceReadsBackFieldByField() throws {
        let original = Self.document()
        let json = FHIRResources.documentReference(original).bytes
        guard case .document(let read) = try FHIRImport.resource(json, patient: Self.patient) else {
            Issue.record("not read as a document")
            return
        }
        #expect(read == original)
    }

    @Test func stringsAreEscapedAndTheOutputIsJSON() throws {
        let value = JSONValue.object([("a", .string("q\"b\\s\u{01}\n\té")), ("n", .integer(-3)), ("t", .bool(true)), ("l", .array([]))])
        let text = String(decoding: value.bytes, as: UTF8.self)
        #expect(text == #"{"a":"q\"b\\s\u0001\n\té","n":-3,"t":true,"l":[]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(value.bytes)) as? [String: Any]
        #expect(parsed?["a"] as? String == "q\"b\\s\u{01}\n\té")
    }

    @Test func instantsKeepMicroseconds() {
        for seconds in [0.0, 1_790_000_000.123456, 1_790_000_000.000001, 946_684_799.999999] {
            let micros = Int64((seconds * 1_000_000).rounded())
            let date = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
            let text = FHIRTime.instant(date)
            #expect(text.count == 27 && text.hasSuffix("Z"))
            #expect(FHIRTime.parse(text).map { Int64(($0.timeIntervalSince1970 * 1_000_000).rounded()) } == micros)
        }
        #expect(FHIRTime.instant(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        #expect(FHIRTime.parse("2026-12-07T09:25:05.5Z").map { $0.timeIntervalSince1970 } == 1_796_635_505.5)
    }

    @Test func fullURLsAreStableUUIDs() {
        let url = FHIRVocabulary.fullURL("DocumentReference", "d-1")
        #expect(url == FHIRVocabulary.fullURL("DocumentReference", "d-1"))
        #expect(url != FHIRVocabulary.fullURL("DocumentReference", "d-2"))
        #expect(url.range(of: #"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#, options: .regularExpression) != nil)
    }

    @Test func theArchiveRoundTripsAndItsCRCIsZIPs() throws {
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xCBF4_3926)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("archive-\(UUID().uuidString).zip").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let writer = try ExportArchiveWriter(path: path)
        try writer.begin("bundle.json")
        try writer.write(Array("{}".utf8))
        try writer.end()
        try writer.begin("documents/d-1")
        try writer.write(Array(big[..<100_000]))
        try writer.write(Array(big[100_000...]))
        try writer.finish()
        let reader = try ExportArchiveReader(path: path)
        #expect(reader.entries.map(\.name) == ["bundle.json", "documents/d-1"])
        let entry = try #require(reader.entry("documents/d-1"))
        var check = CRC32()
        check.update(big)
        #expect(entry.size == 300_000 && entry.crc == check.value)
        #expect(try reader.read(entry, offset: 0, length: 1 << 20) == big)
        #expect(try reader.read(entry, offset: 299_990, length: 100) == Array(big[299_990...]))
    }

    @Test func theCursorSurvivesItsToken() {
        var cursor = ExportCursor()
        cursor.phase = .contents
        cursor.after = 7
        cursor.inProgress = 9
        cursor.offset = 5 << 20
        cursor.indexOffset = 123_456
        cursor.documentLimit = 12
        cursor.logLimit = 99
        cursor.contentDone = 1 << 33
        cursor.contentTotal = 1 << 34
        cursor.documentCount = 11
        cursor.exportedAt = Date(timeIntervalSince1970: 1_790_000_000.654321)
        #expect(ExportCursor(bytes: cursor.bytes) == cursor)
        #expect(ExportCursor(bytes: Array(cursor.bytes.dropLast())) == nil)
    }
}
