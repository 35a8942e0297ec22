import Foundation
import Testing

/// Every rpc of proto/ can be called from the shipped CLI (`dossier`), or is listed here as
/// deliberately not, with the reason: operators must be able to carry out every procedure of
/// docs/OPERATIONS.md with the shipped tools.
@Suite struct CLICoverageTests {
    /// RPCs the CLI does not call, and why.
    /// RPCs the CLI does not call, and why (none today; an entry here must say why).
    static let notInTheCLI: [String: String] = [:]

    @Test func everyRPCIsReachableFromTheCLIOrListedAsDeliberatelyNot() throws {
        let root = SettingsTests.repository
        let protoDirectory = root.appendingPathComponent("proto/dossier/v1")
        var rpcs: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: protoDirectory.path) where file.hasSuffix(".proto") {
            let text = try String(contentsOf: protoDirectory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                if words.first == "rpc", words.count > 1 { rpcs.append(String(words[1].prefix { $0 != "(" })) }
            }
        }
        #expect(rpcs.count > 40)
        let cliDirectory = root.appendingPathComponent("Sources/DossierCLI")
        let clientDirectory = root.appendingPathComponent("Sources/DossierClient")
        var code = ""
        for directory in [cliDirectory, clientDirectory] {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".swift") {
                code += try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            }
        }
        for rpc in rpcs {
            let call = "." + rpc.prefix(1).lowercased() + rpc.dropFirst() + "("
            let reachable = code.contains(call)
            if let reason = Self.notInTheCLI[rpc] {
                #expect(!reachable && !reason.isEmpty, "\(rpc) is listed as not in the CLI, but it is (or has no reason)")
            } else {
                #expect(reachable, "\(rpc) is neither called by the CLI nor listed as deliberately not")
            }
        }
    }
}
