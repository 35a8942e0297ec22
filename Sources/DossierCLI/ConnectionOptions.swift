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

    @Option(help: "Per-call timeout in seconds, more than 0 and at most 86400.")
    var timeout: Double = 30

    @Flag(help: "Print the response as JSON (proto3 JSON mapping, proto field and enum names).")
    var json = false

    @Option(help: "Send this request id with every call (ttrpc metadata `request-id`, 1 to 128 printable ASCII characters); the server logs it.")
    var requestID: String?

    func validate() throws {
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be more than 0 and at most 86400 seconds") }
        if let requestID {
            guard (1...128).contains(requestID.utf8.count), requestID.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e }) else {
                throw ValidationError("--request-id must be 1 to 128 printable ASCII characters, without spaces")
            }
        }
    }

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
        RPCCallOptions(
            timeout: .milliseconds(Int64(timeout * 1000)), metadata: requestID.map { [(key: "request-id", value: $0)] } ?? [])
    }

    /// Connects, runs `body`, closes. A failure becomes a `CLIFailure` with its exit code: 1 the
    /// server refused the call, 3 connection or TLS failure; integrity and usage failures met in
    /// `body` keep theirs (2, 64).
    func withClient<T>(_ body: (DossierClient) async throws -> T) async throws -> T {
        let configuration = try clientConfiguration()
        let client: DossierClient
        do {
            client = try await DossierClient.connect(configuration)
        } catch {
            throw CLIFailure(ExitStatus.connection, "\(error)")
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        await client.close()
        return try result.mapError(CLIFailure.classify).get()
    }
}
