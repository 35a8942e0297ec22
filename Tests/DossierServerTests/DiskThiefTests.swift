import DossierClient
import DossierProto
@testable import DossierStore
import DossierTestSupport
import Foundation
import Testing

/// Issue 14, as a disk thief: everything about patients written through the API — their ids,
/// who saw them (ids, names, professions, organisations), grant and delegate labels, emergency
/// reasons, titles, contents — then forced to disk (WAL, flush, compaction, an online backup of
/// the data and of the key store), and every file scanned, raw and as UTF-16: none may appear.
@Suite struct DiskThiefTests {
    static func utf16(_ text: String, bigEndian: Bool) -> [UInt8] {
        text.utf16.flatMap { unit in bigEndian ? [UInt8(unit >> 8), UInt8(unit & 0xff)] : [UInt8(unit & 0xff), UInt8(unit >> 8)] }
    }

    /// Files under `directories` holding `marker` as UTF-8, UTF-16LE or UTF-16BE.
    static func leaks(of marker: String, under directories: [String]) -> [String] {
        directories.flatMap { directory in
            [Array(marker.utf8), utf16(marker, bigEndian: false), utf16(marker, bigEndian: true)].flatMap {
                EncryptionAtRestTests.occurrences(of: $0, under: directory)
            }
        }
    }

    @Test func nothingAboutAPatientIsReadableFromTheDiskOrABackup() async throws {
        let tag = String(UUID().uuidString.prefix(8)).replacingOccurrences(of: "-", with: "")
        let patientID = "ZQXP\(tag)7391"
        let delegateID = "ZQXD\(tag)4682"
        let psychiatrist = (id: "zqx-psy-\(tag)", name: "Zebulon Quaxley \(tag)", org: "zqx-clinic-\(tag)")
        let emergencyDoctor = (id: "zqx-er-\(tag)", name: "Ximena Urgent \(tag)", org: "zqx-hospital-\(tag)")
        let nurse = (id: "zqx-nurse-\(tag)", name: "Quentin Carer \(tag)")
        let blocked = "zqx-blocked-\(tag)"
        let grantLabel = "ZQX-grant-label-\(tag)"
        let delegateLabel = "ZQX-delegate-label-\(tag)"
        let blockLabel = "ZQX-block-label-\(tag)"
        let reason = "ZQX-emergency-reason-\(tag): unconscious after an overdose"
        let title = "ZQX-title-\(tag)"
        let content = "ZQX-content-\(tag): psychotic episode, lithium 800 mg"
        let clientID = "ZQX-client-id-\(tag)"

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-thief-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer(backupRoot: root + "/backups", keyStoreBackupRoot: root + "/key-backups")
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(patientID, as: helpdesk)
        try await server.openActiveRecord(delegateID, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: patientID)
        _ = try await patient.access.grantAccess(.with {
            $0.patientID = patientID
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = psychiatrist.id
            }
            $0.scope = .extended
            $0.mode = .readWrite
            $0.label = grantLabel
        })
        let psy = try await server.connect(
            try server.pki.clientFiles(
                kind: "professional", id: psychiatrist.id, profession: "psychiatrist", organisation: psychiatrist.org,
                name: psychiatrist.name))
        let document = try await psy.documents.depositDocument(.with {
            $0.patientID = patientID
            $0.submission = Docs.submission(clientID, .report, title: title)
            $0.content = Data(content.utf8)
        }).document
        _ = try await psy.documents.getDocument(.with {
            $0.patientID = patientID
            $0.documentID = document.documentID
        })
        _ = try await patient.access.blockProfessional(.with {
            $0.patientID = patientID
            $0.professionalID = blocked
            $0.label = blockLabel
        })
        _ = try await patient.access.nameDelegate(.with {
            $0.patientID = patientID
            $0.delegateID = delegateID
            $0.label = delegateLabel
        })
        let er = try await server.connect(
            try server.pki.clientFiles(
                kind: "professional", id: emergencyDoctor.id, profession: "emergency_physician", organisation: emergencyDoctor.org,
                name: emergencyDoctor.name))
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = patientID
            $0.reason = reason
        })
        let code = try await patient.access.issuePresenceCode(.with { $0.patientID = patientID }).code
        let nurseClient = try await server.connect(
            try server.pki.clientFiles(kind: "professional", id: nurse.id, profession: "nurse", name: nurse.name))
        _ = try await nurseClient.access.redeemPresenceCode(.with {
            $0.patientID = patientID
            $0.code = code
        })
        _ = try await patient.notifications.listNotifications(.with { $0.patientID = patientID })
        _ = try await helpdesk.admin.createBackup(.with { $0.name = "stolen" })
        await server.stop(removeData: false)

        let directories = [
            server.dataDirectory, TestServer.keyStorePath(of: server.dataDirectory), root + "/backups", root + "/key-backups",
        ]
        let markers = [
            patientID, delegateID, psychiatrist.id, psychiatrist.name, psychiatrist.org, emergencyDoctor.id, emergencyDoctor.name,
            emergencyDoctor.org, nurse.id, nurse.name, blocked, grantLabel, delegateLabel, blockLabel, reason, title, content,
            clientID, "psychiatrist", "emergency_physician", "overdose", "lithium",
        ]
        func scan(_ moment: String) {
            for marker in markers {
                let found = Self.leaks(of: marker, under: directories)
                #expect(found.isEmpty, "\(moment): \(marker) is readable in \(found)")
            }
        }
        // The WAL still holds the writes (nothing was flushed at close), and so does the backup.
        #expect(!EncryptionAtRestTests.files(under: server.dataDirectory).filter { $0.hasSuffix(".log") }.isEmpty)
        scan("in the WAL and the backup")

        // Every family flushed and compacted to table and blob files, the key store as well.
        let files = try StoreFiles(
            dataDirectory: server.dataDirectory, keyStorePath: TestServer.keyStorePath(of: server.dataDirectory),
            masterKey: TestServer.masterKey)
        for name in Keys.Family.all {
            try files.database.flush(files.family(name))
            try files.database.compactRange(in: files.family(name), forceBottommostLevel: true)
        }
        try files.keyStore.database.flush()
        files.close()
        #expect(!EncryptionAtRestTests.files(under: server.dataDirectory).filter { $0.hasSuffix(".sst") }.isEmpty)
        scan("after flush and compaction")

        // Control: the scan does see what is in clear (document ids are in keys), and the data
        // is all there for the server.
        #expect(!Self.leaks(of: document.documentID, under: [server.dataDirectory]).isEmpty)
        let restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let reader = try await restarted.connect(kind: "patient", id: patientID)
        let read = try await reader.documents.readDocumentContent(.with {
            $0.patientID = patientID
            $0.documentID = document.documentID
        })
        #expect(String(decoding: read.data, as: UTF8.self) == content)
        let log = try await reader.accessLog.listAccessLog(.with {
            $0.patientID = patientID
            $0.pageSize = 100
        })
        #expect(log.entries.contains { $0.actor.id == psychiatrist.id })
        #expect(try await reader.accessLog.verifyAccessLog(.with { $0.patientID = patientID }).result == .verified)
        await restarted.stop()
    }
}
