import CDossierClient
import CDossierClientShim
import DossierClient
import DossierServer
import DossierTestSupport
import Foundation
import Testing

/// The C client (clients/c), built by SwiftPM, against a real server: the wire contract holds
/// between two independent implementations. clients/c/tests has the full C suite.
@Suite struct CClientTests {
    static let alice = "1985010112345"

    /// A C client connected as the given principal (nil on failure, with `error` filled).
    static func connect(_ server: TestServer, _ files: TLSFiles, error: inout dossier_error) -> OpaquePointer? {
        var config = dossier_config()
        dossier_config_init(&config)
        return "127.0.0.1".withCString { host in
            files.trustRoots.withCString { ca in
                files.certificateChain.withCString { cert in
                    files.privateKey.withCString { key in
                        config.host = host
                        config.port = UInt16(server.port)
                        config.ca_file = ca
                        config.cert_file = cert
                        config.key_file = key
                        return dossier_client_new(&config, &error)
                    }
                }
            }
        }
    }

    static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    @Test func theCClientDepositsReadsAndGetsTheServersStatuses() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Self.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Self.alice)
        _ = try await patient.access.grantAccess(.with {
            $0.patientID = Self.alice
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = "gp-1001"
            }
            $0.scope = .extended
            $0.mode = .readWrite
        })

        var error = dossier_error()
        let gp = try #require(Self.connect(server, try server.pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp"), error: &error))
        var version = [CChar](repeating: 0, count: 32)
        #expect(shim_health_check(gp, &version, version.count, &error) == 0)
        #expect(String(decoding: version.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == DossierServer.version)

        var state: Int32 = 0
        #expect(shim_get_record_state(gp, Self.alice, &state, &error) == 0 && state == 2)  // ACTIVE

        let content = Array("Hb 14.2 g/dL, from C".utf8)
        var id = [CChar](repeating: 0, count: 80)
        #expect(shim_deposit(gp, Self.alice, "c-lab-1", content, content.count, &id, id.count, &error) == 0)
        var buffer = [UInt8](repeating: 0, count: 64)
        var count = 0
        #expect(shim_read(gp, Self.alice, id, 3, 100, &buffer, buffer.count, &count, &error) == 0)
        #expect(Array(buffer[0..<count]) == Array(content[3...]))

        // Statuses and ErrorDetail as the server sent them.
        #expect(shim_get_record_state(gp, "../x", &state, &error) == -1)
        #expect(error.kind == DOSSIER_ERR_STATUS && error.grpc_code == 3)
        #expect(Self.text(error.reason) == "INVALID_PATIENT_ID" && Self.text(error.field) == "patient_id")
        #expect(shim_read(gp, Self.alice, "d-missing", 0, 10, &buffer, buffer.count, &count, &error) == -1)
        #expect(error.grpc_code == 5 && Self.text(error.reason) == "DOCUMENT_NOT_FOUND")

        let stranger = try #require(Self.connect(server, try server.pki.clientFiles(kind: "professional", id: "gp-9", profession: "gp"), error: &error))
        #expect(shim_get_record_state(stranger, Self.alice, &state, &error) == -1)
        #expect(error.grpc_code == 7 && Self.text(error.reason) == "PERMISSION_DENIED")
        dossier_client_free(stranger)
        dossier_client_free(gp)
        await server.stop()
    }
}
