import Foundation
import Testing

/// The dossierd binary itself: what it writes and how it exits when a setting is refused.
@Suite struct StartupOutputTests {
    static let binary = SettingsTests.repository.appendingPathComponent(".build/debug/dossierd").path

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func withJSONLogsEveryStartupErrorLineIsJSON() throws {
        let cases: [([String], [String: String])] = [
            (["serve", "--log-format", "json", "--port", "70000", "--idle-timeout", "inf"], [:]),
            (["serve", "--no-such-flag"], ["DOSSIERD_LOG_FORMAT": "json"]),
            (["serve"], ["DOSSIERD_LOG_FORMAT": "json", "DOSSIERD_RETENTION_DAYS": "1e300", "DOSSIERD_TYPO": "1"]),
            (["config", "check", "--syntax-only", "--log-format=json", "--max-document-bytes", "-5"], [:]),
        ]
        for (arguments, environment) in cases {
            let (status, stderr) = try run(arguments, environment: environment)
            #expect(status == 64, "\(arguments) \(environment): exit \(status)")
            let lines = stderr.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["level"] as? String == "critical", "not a JSON line: \(line)")
            }
        }
    }

    @Test func inTextEveryRefusedSettingIsOneLine() throws {
        let (status, stderr) = try run(
            ["config", "check", "--syntax-only", "--port", "-1"], environment: ["DOSSIERD_DRAIN_TIMEOUT": "nan"])
        #expect(status == 64)
        #expect(stderr.contains("error: port (flag --port) must be 0 to 65535, not -1\n"))
        #expect(stderr.contains("error: drain-timeout (environment DOSSIERD_DRAIN_TIMEOUT) must be a finite number of seconds, not nan\n"))
    }
}
