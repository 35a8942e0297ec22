import ArgumentParser
import DossierClient
import Foundation

/// The exit codes of `dossier` (README.md, "Exit codes").
enum ExitStatus {
    /// The server answered the call with an error status.
    static let refused: Int32 = 1
    /// What came back does not check out: a SHA-256 mismatch, a broken log chain.
    static let integrity: Int32 = 2
    /// No connection, a refused TLS handshake, a connection lost mid-call.
    static let connection: Int32 = 3
    /// Bad arguments, options or input files (sysexits' EX_USAGE), before or after connecting.
    static let usage: Int32 = 64
}

/// A failure with the exit code it ends `dossier` with; `Dossier.main` prints `error: …`.
struct CLIFailure: Error, CustomStringConvertible {
    let exitCode: Int32
    let description: String

    init(_ exitCode: Int32, _ description: String) {
        self.exitCode = exitCode
        self.description = description
    }

    static func integrity(_ description: String) -> CLIFailure { CLIFailure(ExitStatus.integrity, description) }
    static func usage(_ description: String) -> CLIFailure { CLIFailure(ExitStatus.usage, description) }

    /// A failure of local input or output (a file that cannot be read or written) is the
    /// caller's to fix: a usage error.
    static func file(_ path: String, _ error: any Error) -> CLIFailure {
        usage("\(path): \(describe(error))")
    }

    /// Foundation's errors in words, others as they describe themselves.
    static func describe(_ error: any Error) -> String {
        (error as? CocoaError)?.localizedDescription ?? "\(error)"
    }

    /// What a failure met inside a connection means: the server refused (an RPC status),
    /// the connection or TLS failed (anything from the transport), or it is ours already.
    static func classify(_ error: any Error) -> any Error {
        switch error {
        case let status as RPCStatusError: CLIFailure(ExitStatus.refused, status.description)
        case is CLIFailure, is ValidationError, is ExitCode, is CleanExit: error
        default: CLIFailure(ExitStatus.connection, "\(error)")
        }
    }
}

extension Dossier {
    /// Runs the command; every failure ends with one of the `ExitStatus` codes.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("error: \(failure.description)\n".utf8))
            Foundation.exit(failure.exitCode)
        } catch {
            // ArgumentParser's own errors (usage 64, help and --version 0) and ExitCode.
            if error is ExitCode || exitCode(for: error).rawValue != ExitCode.failure.rawValue { exit(withError: error) }
            // Anything else was not classified: a local failure (reading a file…), a usage error.
            FileHandle.standardError.write(Data("error: \(CLIFailure.describe(error))\n".utf8))
            Foundation.exit(ExitStatus.usage)
        }
    }
}
