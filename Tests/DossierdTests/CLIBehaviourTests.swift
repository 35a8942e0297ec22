import Crypto
import DossierClient
import DossierServer
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// The shipped `dossier` binary against a real server: exit codes, validation, output
/// vocabulary, paging, streaming transfers, the request id (issue 16's CLI defects).
@Suite struct CLIBehaviourTests {
    static let binary = SettingsTests.repository.appendingPathComponent(".build/debug/dossier").path
    static let alice = "1985010112345"

    struct Outcome {
        let status: Int32
        let stdout: Data
        let stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `dossier` with `files`' certificate against `server` (or `address`); standard output
    /// and error go through files, so a large output cannot block, and the wait does not hold
    /// a thread of the cooperative pool.
    static func run(
        _ arguments: [String], as files: TLSFiles? = nil, server: TestServer? = nil, address: String? = nil,
        stdin: Data? = nil
    ) async throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        let input = directory.appendingPathComponent("stdin")
        for file in [out, err, input] { FileManager.default.createFile(atPath: file.path, contents: nil) }
        if let stdin { try stdin.write(to: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ["PATH": "/usr/bin:/bin"]
        if let server { environment["DOSSIER_SERVER"] = "127.0.0.1:\(server.port)" }
        if let address { environment["DOSSIER_SERVER"] = address }
        if let files {
            environment["DOSSIER_CERT"] = files.certificateChain
            environment["DOSSIER_KEY"] = files.privateKey
            environment["DOSSIER_CA"] = files.trustRoots
        }
        process.environment = environment
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = try FileHandle(forReadingFrom: input)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in done.resume() }
            do { try process.run() } catch { done.resume() }
        }
        try outHandle.close()
        try errHandle.close()
        return Outcome(
            status: process.terminationStatus, stdout: try Data(contentsOf: out),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    /// A server with alice's active record, and certificates for alice, an operator and a GP
    /// alice granted extended read-write access.
    struct Cast {
        let server: TestServer
        let alice: TLSFiles
        let helpdesk: TLSFiles
        let gp: TLSFiles

        static func make() async throws -> Cast {
            let server = try await TestServer()
            let helpdesk = try server.pki.clientFiles(kind: "operator", id: "op-1")
            let aliceFiles = try server.pki.clientFiles(kind: "patient", id: CLIBehaviourTests.alice)
            let gp = try server.pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp")
            try await server.openActiveRecord(CLIBehaviourTests.alice, as: try await server.connect(helpdesk))
            _ = try await server.connect(aliceFiles).access.grantAccess(.with {
                $0.patientID = CLIBehaviourTests.alice
                $0.grantee = .with {
                    $0.kind = .professional
                    $0.id = "gp-1001"
                }
                $0.scope = .extended
                $0.mode = .readWrite
            })
            return Cast(server: server, alice: aliceFiles, helpdesk: helpdesk, gp: gp)
        }

        /// Runs `body` with a new cast, and stops its server afterwards, also when `body` throws.
        static func with(_ body: (Cast) async throws -> Void) async throws {
            let cast = try await make()
            do {
                try await body(cast)
            } catch {
                await cast.server.stop()
                throw error
            }
            await cast.server.stop()
        }

        func run(_ arguments: [String], as files: TLSFiles, stdin: Data? = nil) async throws -> Outcome {
            try await CLIBehaviourTests.run(arguments, as: files, server: server, stdin: stdin)
        }
    }

    static func submission(_ clientID: String) -> Dossier_V1_DocumentSubmission {
        .with {
            $0.clientUniqueID = clientID
            $0.title = "Blood count"
            $0.documentClass = .labResult
            $0.typeCode = .with {
                $0.system = "http://loinc.org"
                $0.code = "11502-2"
            }
            $0.mimeType = "text/plain"
            $0.createdAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_790_000_000))
        }
    }

    // MARK: exit codes

    @Test func exitCodesTellRefusalConnectionAndUsageApart() async throws {
        try await Cast.with { cast in
            // 1: the server refused (no record for this patient).
            let refused = try await cast.run(["record", "get", "1960050512345"], as: cast.gp)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.hasPrefix("error: "))
            // 3: nothing listens there.
            let closed = try await Self.run(["health"], as: cast.helpdesk, address: "127.0.0.1:1")
            #expect(closed.status == 3, "\(closed.stderr)")
            // 64: usage errors, before connecting and for input met while running.
            for arguments in [
                ["log", "--limit", "-1", Self.alice], ["log", "list", Self.alice, "--limit=-1"], ["log", "list", Self.alice, "--limit", "0"],
                ["stats", "--months", "0"], ["stats", "--months=-9223372036854775808"], ["access", "grant", Self.alice, "x", "--days", "inf"],
                ["access", "code", Self.alice, "--hours", "nan"], ["health", "--timeout", "inf"], ["doc", "overview", Self.alice, "--page-size", "0"],
                ["doc", "find", Self.alice, "--class", "no-such-class"], ["notifications", Self.alice, "--limit", "0"],
                ["log", "verify", Self.alice, "--checkpoint", "/nonexistent/checkpoint.json"],
                ["record", "open-bulk", "/nonexistent/patients.txt"], ["health", "--request-id", "has space"],
            ] {
                let outcome = try await cast.run(arguments, as: cast.alice)
                #expect(outcome.status == 64, "\(arguments): exit \(outcome.status) \(outcome.stderr)")
            }
        }
    }

    @Test func aLogThatDoesNotVerifyExitsTwoInTextAndJSON() async throws {
        try await Cast.with { cast in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let saved = directory.appendingPathComponent("checkpoint.json").path
            #expect(try await cast.run(["log", "checkpoint", Self.alice, "--save", saved], as: cast.alice).status == 0)
            let good = try await cast.run(["log", "verify", Self.alice, "--checkpoint", saved, "--json"], as: cast.alice)
            #expect(good.status == 0, "\(good.stderr)")
            // A forged signature: the server answers FAILED (not an error status).
            var checkpoint = try Dossier_V1_LogCheckpoint(jsonUTF8Data: try Data(contentsOf: URL(fileURLWithPath: saved)))
            checkpoint.signature = Data(repeating: 7, count: 64)
            try Data(try checkpoint.jsonUTF8Data()).write(to: URL(fileURLWithPath: saved))
            let text = try await cast.run(["log", "verify", Self.alice, "--checkpoint", saved], as: cast.alice)
            #expect(text.status == 2 && text.text.contains("FAILED") && text.text.contains("checkpoint-signature-invalid"), "\(text.text)")
            let json = try await cast.run(["log", "verify", Self.alice, "--checkpoint", saved, "--json"], as: cast.alice)
            #expect(json.status == 2, "\(json.stderr)")
            #expect(json.text.contains("LOG_VERIFICATION_FAILURE_CHECKPOINT_SIGNATURE_INVALID"))
        }
    }

    @Test func versionIsTheServersOwn() async throws {
        let outcome = try await Self.run(["--version"])
        #expect(outcome.status == 0)
        #expect(outcome.text.trimmingCharacters(in: .whitespacesAndNewlines) == DossierServer.version)
    }

    @Test func irreversibleCommandsNeedYes() async throws {
        for arguments in [
            ["admin", "purge"], ["admin", "revoke", "5ca46e354cc1f4d95950e8acada93f73"], ["record", "delete", Self.alice],
            ["doc", "deprecate", Self.alice, "some-document", "--reason", "entered in error"],
        ] {
            let outcome = try await Self.run(arguments)
            #expect(outcome.status == 64 && outcome.stderr.contains("--yes"), "\(arguments): \(outcome.stderr)")
        }
    }

    // MARK: defects

    @Test func openBulkReportsTheInputFilesLineNumbers() async throws {
        try await Cast.with { cast in
            let file = "# patients of the practice\n1990020254321\n\nnot a patient id!\n2001030398765\n   \nalso/bad\n"
            let outcome = try await cast.run(["record", "open-bulk", "-"], as: cast.helpdesk, stdin: Data(file.utf8))
            // Two rejected: exit 1, after the others were opened and every rejection printed.
            #expect(outcome.status == 1 && outcome.stderr.contains("2 of 4 entries rejected"), "\(outcome.stderr)")
            let rejected = outcome.text.split(separator: "\n").filter { $0.hasPrefix("rejected line") }
            #expect(rejected.count == 2)
            #expect(rejected.first?.hasPrefix("rejected line 4:") == true, "\(outcome.text)")
            #expect(rejected.last?.hasPrefix("rejected line 7:") == true, "\(outcome.text)")
            #expect(outcome.text.contains("opened") && outcome.text.contains("2"), "\(outcome.text)")
            let clean = try await cast.run(["record", "open-bulk", "-"], as: cast.helpdesk, stdin: Data("1970040412345\n".utf8))
            #expect(clean.status == 0, "\(clean.stderr)")
        }
    }

    @Test func referringPhysicianIsRemovedOnlyExplicitly() async throws {
        try await Cast.with { cast in
            #expect(try await cast.run(["access", "referring", Self.alice, "gp-1001"], as: cast.alice).status == 0)
            let missing = try await cast.run(["access", "referring", Self.alice], as: cast.alice)
            #expect(missing.status == 64, "\(missing.stderr)")
            let both = try await cast.run(["access", "referring", Self.alice, "gp-1001", "--remove"], as: cast.alice)
            #expect(both.status == 64)
            let record = try await cast.server.connect(cast.alice).records.getRecord(.with { $0.patientID = Self.alice }).record
            #expect(record.referringPhysicianID == "gp-1001")
            // Tables and JSON in one vocabulary: kebab in the table, the proto name in JSON.
            let table = try await cast.run(["record", "get", Self.alice], as: cast.alice)
            #expect(table.text.contains("referring-physician") && !table.text.contains("referringPhysician"), "\(table.text)")
            let json = try await cast.run(["record", "get", Self.alice, "--json"], as: cast.alice)
            #expect(json.text.contains("_REFERRING_PHYSICIAN\""), "\(json.text)")
            let removed = try await cast.run(["access", "referring", Self.alice, "--remove", "--json"], as: cast.alice)
            #expect(removed.status == 0, "\(removed.stderr)")
            let after = try await cast.server.connect(cast.alice).records.getRecord(.with { $0.patientID = Self.alice }).record
            #expect(after.referringPhysicianID.isEmpty)
        }
    }

    @Test func listsArePagedToTheEndOrTheLimit() async throws {
        try await Cast.with { cast in
            let gp = try await cast.server.connect(cast.gp)
            let count = 520
            try await withThrowingTaskGroup(of: Void.self) { group in
                for start in stride(from: 0, to: count, by: 65) {
                    group.addTask {
                        for index in start..<min(start + 65, count) {
                            let content = Array("report \(index)".utf8)
                            _ = try await gp.documents.depositDocument(.with {
                                $0.patientID = Self.alice
                                $0.submission = Self.submission("paging-\(index)")
                                $0.content = Data(content)
                                $0.expectedSha256 = Data(SHA256.hash(data: content))
                            })
                        }
                    }
                }
                try await group.waitForAll()
            }
            let notifications = try await cast.run(["notifications", Self.alice, "--json"], as: cast.alice)
            let listed = try Dossier_V1_ListNotificationsResponse(jsonUTF8Data: notifications.stdout)
            #expect(listed.notifications.count >= count, "\(listed.notifications.count)")
            let found = try Dossier_V1_FindDocumentsResponse(
                jsonUTF8Data: try await cast.run(["doc", "find", Self.alice, "--json"], as: cast.alice).stdout)
            #expect(found.documents.count == count && found.nextPageToken.isEmpty)
            let limited = try Dossier_V1_FindDocumentsResponse(
                jsonUTF8Data: try await cast.run(["doc", "find", Self.alice, "--json", "--limit", "7"], as: cast.alice).stdout)
            #expect(limited.documents.count == 7 && !limited.nextPageToken.isEmpty)
            let log = try Dossier_V1_ListAccessLogResponse(
                jsonUTF8Data: try await cast.run(["log", "list", Self.alice, "--json", "--limit", "501"], as: cast.alice).stdout)
            #expect(log.entries.count == 501)
        }
    }

    @Test func largeTransfersStreamWithoutABarOffATerminalAndKeepTheHashCheck() async throws {
        try await Cast.with { cast in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dossier-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("scan.txt")
            let content = Data((0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) })
            try content.write(to: file)
            let deposited = try await cast.run(
                ["doc", "deposit", Self.alice, file.path, "--title", "Scan", "--class", "imaging", "--type", "http://loinc.org|18748-4",
                 "--json"], as: cast.gp)
            #expect(deposited.status == 0, "\(deposited.stderr)")
            #expect(!deposited.stderr.contains("["), "a progress bar on a pipe: \(deposited.stderr)")
            let document = try Dossier_V1_Document(jsonUTF8Data: deposited.stdout)
            #expect(document.sizeBytes == UInt64(content.count) && document.sha256 == Data(SHA256.hash(data: content)))
            let piped = try await cast.run(["doc", "download", Self.alice, document.documentID, "-o", "-"], as: cast.gp)
            #expect(piped.status == 0 && piped.stdout == content, "\(piped.stderr)")
            #expect(piped.stderr.contains("SHA-256 verified") && !piped.stderr.contains("\r"))
            let copy = directory.appendingPathComponent("copy.txt").path
            let saved = try await cast.run(["doc", "download", Self.alice, document.documentID, "-o", copy], as: cast.gp)
            let copied = try Data(contentsOf: URL(fileURLWithPath: copy))
                #expect(saved.status == 0 && copied == content)
            #expect(!FileManager.default.fileExists(atPath: copy + ".part"))
        }
    }

    @Test func aRequestIDReachesTheServer() async throws {
        try await Cast.with { cast in
            let sent = try await cast.run(["record", "get", Self.alice, "--request-id", "ticket-4711-a"], as: cast.gp)
            #expect(sent.status == 0, "\(sent.stderr)")
            let log = try Dossier_V1_ListAccessLogResponse(
                jsonUTF8Data: try await cast.run(["log", "list", Self.alice, "--json", "--actor", "gp-1001"], as: cast.alice).stdout)
            #expect(log.entries.contains { $0.requestID == "ticket-4711-a" })
        }
    }

    @Test func enumFlagsListTheirValuesInHelp() async throws {
        let help = try await Self.run(["doc", "deposit", "--help"])
        #expect(help.text.contains("lab-result") && help.text.contains("sexual-health") && help.text.contains("restricted"), "\(help.text)")
        let revoke = try await Self.run(["admin", "revoke", "--help"])
        #expect(revoke.text.contains("key-compromise"))
    }
}
