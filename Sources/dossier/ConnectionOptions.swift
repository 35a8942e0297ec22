import ArgumentParser
import DossierClient
import Foundation

/// Where the server is and which certificate to call it with.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server address host:port (env DOSSIER_SERVER).")
    var server: String?

    @Option(help: "Client certificate, PEM (env DOSSIER_CERT).")
    var cert: String?

    @Option(help: "Client private key, PEM (env DOSSIER_KEY).")
    var key: String?

    @Option(help: "CA bundle that signed the server's certificate, PEM (env DOSSIER_CA).")
    var ca: String?

    @Option(help: "Per-call timeout in seconds.")
    var timeout: Double = 30

    @Flag(help: "Print the response as JSON (proto3 JSON mapping).")
    var json = false

    func clientConfiguration() throws -> ClientConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let address = server ?? environment["DOSSIER_SERVER"] ?? "127.0.0.1:7443"
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ValidationError("server must be host:port, got \(address)")
        }
        let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        func file(_ flag: String?, _ variable: String, _ name: String) throws -> String {
            guard let path = flag ?? environment[variable] else {
                throw ValidationError("missing --\(name) (or \(variable))")
            }
            return path
        }
        let tls = TLSFiles(
            certificateChain: try file(cert, "DOSSIER_CERT", "cert"),
            privateKey: try file(key, "DOSSIER_KEY", "key"),
            trustRoots: try file(ca, "DOSSIER_CA", "ca"))
        return ClientConfiguration(host: host, port: port, tls: tls)
    }

    var callOptions: RPCCallOptions {
        RPCCallOptions(timeout: .milliseconds(Int64(timeout * 1000)))
    }

    /// Connects, runs `body`, closes; turns failures into a message and an exit code.
    func withClient<T>(_ body: (DossierClient) async throws -> T) async throws -> T {
        let client: DossierClient
        do {
            client = try await DossierClient.connect(try clientConfiguration())
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CLIError(message: "\(error)", exitCode: 3)
        }
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch let error as RPCStatusError {
            await client.close()
            throw CLIError(message: error.description, exitCode: 1)
        } catch {
            await client.close()
            throw CLIError(message: "\(error)", exitCode: 3)
        }
    }
}

/// A failure printed as `error: …` with a specific exit code (1: the server refused the call,
/// 3: connection or TLS failure).
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    var description: String { message }
}
