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

    /// Connects, runs `body`, closes. Failures print `error: …` and exit 1 (the server refused
    /// the call) or 3 (connection or TLS failure).
    func withClient<T>(_ body: (DossierClient) async throws -> T) async throws -> T {
        let configuration = try clientConfiguration()
        let client: DossierClient
        do {
            client = try await DossierClient.connect(configuration)
        } catch {
            throw fail("\(error)", exitCode: 3)
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        await client.close()
        switch result {
        case .success(let value):
            return value
        case .failure(let error as RPCStatusError):
            throw fail(error.description, exitCode: 1)
        case .failure(let error):
            throw fail("\(error)", exitCode: 3)
        }
    }

    private func fail(_ message: String, exitCode: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(exitCode)
    }
}
