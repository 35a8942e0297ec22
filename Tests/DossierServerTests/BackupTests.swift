import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Synchronization
import Testing

/// Online backup under write load, restored into a fresh directory: every document acknowledged
/// before the backup began is there, and the log chain verifies.
@Suite struct BackupTests {
    final class Acknowledged: Sendable {
        let ids = Mutex<[String]>([])
        func add(_ id: String) { ids.withLock { $0.append(id) } }
        var all: [String] { ids.withLock { $0 } }
    }

    @Test func aBackupTakenUnderLoadRestoresEverythingAcknowledgedBeforeIt() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-backups-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await TestServer(backupRoot: root)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")

        let acknowledged = Acknowledged()
        let load = Task {
            var index = 0
            while !Task.isCancelled {
                index += 1
                guard let document = try? await Docs.deposit(gp, Docs.submission("load-\(index)")) else { return }
                acknowledged.add(document.documentID)
            }
        }
        let waitUntil = ContinuousClock.now + .seconds(30)
        while acknowledged.all.count < 5 && ContinuousClock.now < waitUntil {
            try await Task.sleep(for: .milliseconds(20))
        }
        let before = Set(acknowledged.all)
        let backup = try await helpdesk.admin.createBackup(.with { $0.name = "nightly-1" }).backup
        try await Task.sleep(for: .milliseconds(200))
        load.cancel()
        _ = await load.value
        #expect(backup.name == "nightly-1" && backup.storageSequence > 0 && backup.sizeBytes > 0)
        #expect(before.count >= 5)

        let again = await Docs.status { _ = try await helpdesk.admin.createBackup(.with { $0.name = "nightly-1" }) }
        #expect(again?.code == .alreadyExists)
        let badName = await Docs.status { _ = try await helpdesk.admin.createBackup(.with { $0.name = "../escape" }) }
        #expect(badName?.code == .invalidArgument && badName?.reason == "INVALID_BACKUP_NAME")
        let notOperator = await Docs.status { _ = try await gp.admin.createBackup(.with { $0.name = "mine" }) }
        #expect(notOperator?.code == .permissionDenied)
        #expect(try await helpdesk.admin.listBackups(.init()).backups.map(\.name) == ["nightly-1"])
        await server.stop(removeData: false)

        // The backup holds no key: the master key, the log-signing key and the key store are
        // apart from it.
        let restored = root + "/nightly-1"
        #expect(try FileManager.default.contentsOfDirectory(atPath: restored).allSatisfy { !$0.contains("key") })
        // Restore: the checkpoint with today's key store and keys.
        try FileManager.default.copyItem(atPath: server.dataDirectory + ".log-signing-key", toPath: restored + ".log-signing-key")
        let restarted = try await TestServer(
            pki: server.pki, dataDirectory: restored, keyStorePath: TestServer.keyStorePath(of: server.dataDirectory))
        let reader = try await restarted.connect(kind: "patient", id: Docs.alice)
        var found: Set<String> = []
        var token = ""
        repeat {
            let page = try await reader.documents.findDocuments(.with {
                $0.patientID = Docs.alice
                $0.pageSize = 500
                $0.pageToken = token
            })
            found.formUnion(page.documents.map(\.documentID))
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(before.isSubset(of: found))
        let verified = try await reader.accessLog.verifyAccessLog(.with { $0.patientID = Docs.alice })
        #expect(verified.result == .verified)
        await restarted.stop(removeData: false)
        try? FileManager.default.removeItem(atPath: server.dataDirectory)
        try? FileManager.default.removeItem(atPath: TestServer.keyStorePath(of: server.dataDirectory))
        try? FileManager.default.removeItem(atPath: server.dataDirectory + ".log-signing-key")
        try? FileManager.default.removeItem(atPath: restored + ".log-signing-key")
    }
}
