import Foundation
import Testing

/// Issue 14: a wrong or missing master key never serves, a data directory that holds data never
/// gets a new key store, and files other users may read are refused — each with exit 2 and one
/// line saying why; the right key serves the same data again.
@Suite(.serialized) struct KeyStartupTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("dossierd-keys-\(UUID().uuidString)").path
    static let certs = SettingsTests.repository.appendingPathComponent("certs/dev").path

    func writeKey(_ name: String, mode: Int = 0o600) throws -> String {
        let path = work + "/" + name
        let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() + "\n"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: mode]))
        return path
    }

    /// Starts dossierd; returns its exit status and standard error. A server that starts
    /// ("listening") is stopped with SIGTERM.
    func start(master: String, signing: String, data: String? = nil, keyStore: String? = nil, extra: [String] = []) throws
        -> (status: Int32, stderr: String)
    {
        let log = work + "/stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StartupOutputTests.binary)
        process.arguments = [
            "serve", "--port", "0", "--metrics-port", "0", "--data-dir", data ?? work + "/data", "--key-store", keyStore ?? work + "/keys",
            "--master-key", master, "--log-signing-key", signing, "--cert", Self.certs + "/server.pem",
            "--key", Self.certs + "/server.key", "--client-ca", Self.certs + "/ca.pem",
        ] + extra
        process.environment = ["PATH": "/usr/bin:/bin"]
        process.standardError = FileHandle(forWritingAtPath: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date() + 30
        var text = ""
        while process.isRunning, Date() < deadline {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("listening") {
                // SIGTERM is handled gracefully once the service group runs, just after
                // "listening" is logged.
                Thread.sleep(forTimeInterval: 0.5)
                process.terminate()
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if process.isRunning, Date() >= deadline { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    func refusal(_ result: (status: Int32, stderr: String), saying phrase: String) {
        #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("cannot start") && lines[0].contains(phrase), "\(result.stderr)")
        #expect(!result.stderr.contains("listening"))
    }

    @Test func aWrongOrMissingKeyNeverServesAndTheRightOneDoes() throws {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let right = try writeKey("master.key")
        let wrong = try writeKey("other.key")
        let signing = try writeKey("log-signing.key")

        let first = try start(master: right, signing: signing)
        #expect(first.status == 0 && first.stderr.contains("listening"), "\(first.stderr)")

        refusal(try start(master: wrong, signing: signing), saying: "is not the key of this key store")
        refusal(try start(master: work + "/absent.key", signing: signing), saying: "does not exist")
        refusal(try start(master: right, signing: work + "/absent-signing.key"), saying: "does not exist")
        // A data directory that holds data gets no new key store (that would orphan its data).
        refusal(try start(master: right, signing: signing, keyStore: work + "/new-keys"), saying: "holds data")
        #expect(!FileManager.default.fileExists(atPath: work + "/new-keys"))
        // Nor does another key store serve it.
        _ = try start(master: right, signing: signing, data: work + "/other-data", keyStore: work + "/other-keys")
        refusal(try start(master: right, signing: signing, keyStore: work + "/other-keys"), saying: "is not the one of the data directory")

        let again = try start(master: right, signing: signing)
        #expect(again.status == 0 && again.stderr.contains("listening"), "exit \(again.status): \(again.stderr)")
    }

    @Test func filesOtherUsersMayReadAreRefusedUnlessAllowed() throws {
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let signing = try writeKey("log-signing.key")
        let open = try writeKey("open.key", mode: 0o644)
        refusal(try start(master: open, signing: signing), saying: "readable by every user")
        let allowed = try start(master: open, signing: signing, extra: ["--allow-open-permissions"])
        #expect(allowed.status == 0 && allowed.stderr.contains("listening"), "\(allowed.stderr)")

        let master = try writeKey("master.key")
        try FileManager.default.createDirectory(atPath: work + "/shared", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        refusal(try start(master: master, signing: signing, data: work + "/shared", keyStore: work + "/shared-keys"), saying: "open to every user")

        // What the server creates is its own: directories 0700, files 0600, whatever the umask.
        let created = try start(master: master, signing: signing, data: work + "/private", keyStore: work + "/private-keys")
        #expect(created.status == 0, "\(created.stderr)")
        for directory in [work + "/private", work + "/private-keys"] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
            #expect(mode == 0o700, "\(directory): \(String(mode ?? 0, radix: 8))")
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
                let fileMode = try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.posixPermissions] as? Int
                #expect((fileMode ?? 0o777) & 0o077 == 0, "\(file): \(String(fileMode ?? 0, radix: 8))")
            }
        }
    }
}
