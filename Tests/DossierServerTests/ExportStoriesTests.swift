import Crypto
import DossierClient
import DossierFHIR
import DossierProto
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// EHDS Art. 3 and 7: the patient downloads her whole record in FHIR R4 and takes it to
/// another service.
@Suite struct ExportStoriesTests {
    let alice = Docs.alice

    /// Exports like `dossier record export`: pieces into a ZIP, every document's SHA-256
    /// checked; the number of calls it took.
    static func export(_ client: DossierClient, _ patient: String, to path: String, maxBytes: UInt32 = 0) async throws -> Int {
        let writer = try ExportArchiveWriter(path: path)
        var token = ""
        var calls = 0
        var current: (path: String, written: UInt64, hasher: SHA256)?
        repeat {
            let page = try await client.portability.exportRecord(.with {
                $0.patientID = patient
                $0.pageToken = token
                $0.maxBytes = maxBytes
            })
            calls += 1
            #expect(page.pieces.reduce(0) { $0 + $1.data.count } <= Int(maxBytes == 0 ? 1 << 20 : maxBytes) + 16 << 10)
            for piece in page.pieces {
                if current?.path != piece.path {
                    #expect(current == nil && piece.offset == 0)
                    try writer.begin(piece.path)
                    current = (piece.path, 0, SHA256())
                }
                #expect(piece.offset == current!.written)
                try writer.write([UInt8](piece.data))
                current!.hasher.update(data: piece.data)
                current!.written += UInt64(piece.data.count)
                if piece.last {
                    if piece.path != "bundle.json" {
                        #expect(current!.written == piece.totalSize)
                        #expect(Data(current!.hasher.finalize()) == piece.sha256)
                    }
                    try writer.end()
                    current = nil
                }
            }
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(current == nil)
        try writer.finish()
        return calls
    }

    /// Imports like `dossier record import`.
    static func importArchive(_ client: DossierClient, _ patient: String, from path: String) async throws -> Int {
        let archive = try ExportArchiveReader(path: path)
        let bundleEntry = try #require(archive.entry("bundle.json"))
        let bundle = try #require(
            try JSONSerialization.jsonObject(with: Data(try archive.read(bundleEntry, offset: 0, length: Int(bundleEntry.size)))) as? [String: Any])
        let resources = (bundle["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
        var token = ""
        var imported = 0
        func send(_ resource: [String: Any], content: [UInt8] = [], uploadID: String = "") async throws -> Dossier_V1_ImportRecordResponse {
            let response = try await client.portability.importRecord(.with {
                $0.patientID = patient
                $0.resourceJson = try! JSONSerialization.data(withJSONObject: resource)
                $0.content = Data(content)
                $0.uploadID = uploadID
                $0.importToken = token
            })
            token = response.importToken
            return response
        }
        for resource in resources {
            guard resource["resourceType"] as? String == "DocumentReference" else {
                if resource["resourceType"] as? String == "Patient" { #expect(try await send(resource).result == .acknowledged) }
                continue
            }
            let file = try #require(archive.entry("documents/\(resource["id"] as! String)"))
            var response: Dossier_V1_ImportRecordResponse
            if file.size <= 1 << 20 {
                response = try await send(resource, content: try archive.read(file, offset: 0, length: Int(file.size)))
            } else {
                let upload = try await send(resource)
                #expect(upload.result == .uploadRequired)
                var offset: UInt64 = 0
                while offset < file.size {
                    offset = try await client.documents.uploadChunk(.with {
                        $0.uploadID = upload.upload.uploadID
                        $0.offset = offset
                        $0.data = Data(try! archive.read(file, offset: offset, length: 1 << 20))
                    }).committedSize
                }
                response = try await send(resource, uploadID: upload.upload.uploadID)
            }
            #expect(response.result == .imported && !response.alreadyExisted)
            imported += 1
        }
        return imported
    }

    static func validateWithFHIRLibrary(_ path: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/fhir-validate.sh").path, path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the FHIR library refused the export: \(text)")
        return text
    }

    static func randomContent(_ size: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var content = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size - 7, by: 8) {
            withUnsafeBytes(of: generator.next()) { content.replaceSubrange(index..<index + 8, with: $0) }
        }
        return content
    }

    @Test func aPatientExportsHerRecordValidatesItAndTakesItToAnotherService() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        try await Docs.grant(patient, to: "gp-1", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "rad-1", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1", profession: "gp", organisation: "cabinet-ville")
        let radiologist = try await server.connect(kind: "professional", id: "rad-1", profession: "radiologist")
        _ = try await patient.access.nameDelegate(.with {
            $0.patientID = alice
            $0.delegateID = "1960030354321"
            $0.label = "my husband"
        })
        _ = try await patient.access.blockProfessional(.with {
            $0.patientID = alice
            $0.professionalID = "pharm-9"
        })

        // A report, a lab result replaced by a corrected version, a deprecated certificate, her
        // own note, a result hidden from her (not exported), and a 40 MiB CT through an upload.
        var contents: [String: [UInt8]] = [:]
        let report = try await Docs.deposit(gp, Docs.submission("rep-1", .report, title: "Consultation"), content: Array("report".utf8))
        contents[report.documentID] = Array("report".utf8)
        var lab = Docs.submission("lab-1", .labResult, title: "Blood count", categories: [.genetics], confidentiality: .restricted)
        lab.serviceStart = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_789_000_000.123456))
        lab.serviceEnd = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_789_900_000))
        lab.practiceSetting = .with { $0.system = "http://snomed.info/sct"; $0.code = "394802001"; $0.display = "General medicine" }
        lab.facilityType = .with { $0.system = "http://snomed.info/sct"; $0.code = "22232009"; $0.display = "Hospital" }
        lab.formatCode = .with { $0.system = "urn:ihe:pcc"; $0.code = "urn:ihe:lab:xd-lab:2008" }
        lab.language = "fr-LU"
        let first = try await Docs.deposit(gp, lab, content: Array("hb 13".utf8))
        contents[first.documentID] = Array("hb 13".utf8)
        let corrected = try await gp.documents.replaceDocument(.with {
            $0.patientID = alice
            $0.documentID = first.documentID
            $0.submission = Docs.submission("lab-1b", .labResult, title: "Blood count (corrected)")
            $0.content = Data("hb 14".utf8)
        }).document
        contents[corrected.documentID] = Array("hb 14".utf8)
        let certificate = try await Docs.deposit(gp, Docs.submission("cert-1", .certificate, title: "Sick leave"), content: Array("3 days".utf8))
        contents[certificate.documentID] = Array("3 days".utf8)
        _ = try await gp.documents.deprecateDocument(.with {
            $0.patientID = alice
            $0.documentID = certificate.documentID
            $0.reason = "entered in error"
        })
        let note = try await Docs.deposit(patient, Docs.submission("note-1", .patientProvided, title: "Allergies", mime: "text/plain"), content: Array("penicillin".utf8))
        contents[note.documentID] = Array("penicillin".utf8)
        _ = try await patient.documents.setDocumentConfidentiality(.with {
            $0.patientID = alice
            $0.documentID = report.documentID
            $0.confidentiality = .secret
        })
        let hidden = try await Docs.deposit(gp, Docs.submission("hid-1", .labResult, title: "Biopsy", hidden: true), content: Array("later".utf8))
        let big = Self.randomContent(40 << 20)
        let session = try await radiologist.documents.createUpload(.with {
            $0.patientID = alice
            $0.submission = Docs.submission("ct-1", .imaging, title: "CT thorax", mime: "application/dicom")
            $0.declaredSize = UInt64(big.count)
            $0.expectedSha256 = Data(SHA256.hash(data: big))
        }).upload
        for offset in stride(from: 0, to: big.count, by: 1 << 20) {
            _ = try await radiologist.documents.uploadChunk(.with {
                $0.uploadID = session.uploadID
                $0.offset = UInt64(offset)
                $0.data = Data(big[offset..<min(big.count, offset + (1 << 20))])
            })
        }
        let ct = try await radiologist.documents.completeUpload(.with { $0.uploadID = session.uploadID }).document
        contents[ct.documentID] = big

        // An emergency physician breaks the glass and reads the CT: AuditEvents with the
        // emergency purpose of use.
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician", organisation: "chl")
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = alice
            $0.reason = "unconscious patient admitted to the emergency room"
        })
        _ = try await er.documents.getDocument(.with {
            $0.patientID = alice
            $0.documentID = ct.documentID
        })

        // Nobody but the patient (or delegate) exports: professional, operator; logged as denied.
        for other in [gp, helpdesk] {
            let refused = await Docs.status { _ = try await other.portability.exportRecord(.with { $0.patientID = alice }) }
            #expect(refused?.code == .permissionDenied)
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let zip = directory.appendingPathComponent("record.zip").path
        let calls = try await Self.export(patient, alice, to: zip)
        #expect(calls >= 40)

        // Every version is there with its content; the hidden result is not.
        let archive = try ExportArchiveReader(path: zip)
        #expect(Set(archive.entries.map(\.name)) == Set(["bundle.json"] + contents.keys.map { "documents/\($0)" }))
        #expect(archive.entry("documents/\(hidden.documentID)") == nil)
        for (id, bytes) in contents where bytes.count < 1 << 20 {
            let entry = try #require(archive.entry("documents/\(id)"))
            #expect(try archive.read(entry, offset: 0, length: Int(entry.size)) == bytes)
        }
        let bundleEntry = try #require(archive.entry("bundle.json"))
        let bundleText = String(decoding: try archive.read(bundleEntry, offset: 0, length: Int(bundleEntry.size)), as: UTF8.self)
        #expect(!bundleText.contains("Biopsy") && !bundleText.contains(hidden.documentID))
        #expect(bundleText.contains(#""code":"replaces""#) && bundleText.contains(#""status":"superseded""#))
        #expect(bundleText.contains(#""code":"ETREAT""#) && bundleText.contains("unconscious patient admitted"))
        #expect(bundleText.contains(#""code":"V"}"#))  // the masked report

        // The independent FHIR library reads every resource (and checks every SHA-256).
        let validated = try Self.validateWithFHIRLibrary(zip)
        #expect(validated.contains("6 DocumentReference") && validated.contains("1 Patient"))

        // One EXPORT_RECORD entry for the whole export, whatever the number of pages; the
        // refusals too.
        let log = try await Docs.log(patient)
        let exports = log.filter { $0.operation == .exportRecord }
        #expect(exports.map(\.outcome) == [.denied, .denied, .success])
        #expect(exports.last?.actor.id == alice)

        // Another service: the operator opens the record, imports the export, and the patient
        // finds every document byte for byte and every metadata field as it was.
        let other = try await TestServer()
        let otherHelpdesk = try await other.connect(kind: "operator", id: "op-2")
        try await other.openActiveRecord(alice, as: otherHelpdesk)
        let refusedImport = await Docs.status {
            _ = try await other.connect(kind: "professional", id: "gp-1", profession: "gp").portability.importRecord(.with {
                $0.patientID = alice
                $0.resourceJson = Data(#"{"resourceType":"Patient"}"#.utf8)
            })
        }
        #expect(refusedImport?.code == .permissionDenied)
        #expect(try await Self.importArchive(otherHelpdesk, alice, from: zip) == 6)
        let otherPatient = try await other.connect(kind: "patient", id: alice)
        for (id, bytes) in contents {
            let before = try await Docs.get(patient, id)
            let after = try await Docs.get(otherPatient, id)
            #expect(after == before, "document \(id) differs after the import")
            let (downloaded, sha) = try await Docs.download(otherPatient, id)
            #expect(downloaded == bytes && sha == [UInt8](before.sha256))
        }
        // Importing again into a record that holds documents is refused.
        let again = await Docs.status { _ = try await Self.importArchive(otherHelpdesk, alice, from: zip) }
        #expect(again?.reason == "RECORD_NOT_EMPTY")

        // The moved record exports again, and the FHIR library accepts that one too.
        let second = directory.appendingPathComponent("moved.zip").path
        _ = try await Self.export(otherPatient, alice, to: second, maxBytes: 300_000)
        _ = try Self.validateWithFHIRLibrary(second)
        await other.stop()
        await server.stop()
    }

    @Test func aTokenIsBoundToItsCallerAndRecord() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        try await server.openActiveRecord("1990020211111", as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        _ = try await Docs.deposit(patient, Docs.submission("n-1", .patientProvided, mime: "text/plain"))
        let page = try await patient.portability.exportRecord(.with {
            $0.patientID = alice
            $0.maxBytes = 200
        })
        #expect(!page.nextPageToken.isEmpty)
        let bob = try await server.connect(kind: "patient", id: "1990020211111")
        let stolen = await Docs.status {
            _ = try await bob.portability.exportRecord(.with {
                $0.patientID = "1990020211111"
                $0.pageToken = page.nextPageToken
            })
        }
        #expect(stolen?.reason == "INVALID_PAGE_TOKEN")
        await server.stop()
    }
}
