import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The Prometheus endpoint answers with the documented series, and no identifiers.
@Suite struct MetricsTests {
    @Test func theEndpointExposesCallsConnectionsStorageAndNoIdentifiers() async throws {
        let server = try await TestServer(metrics: true)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        _ = try await patient.records.getRecord(.with { $0.patientID = Docs.alice })
        _ = await Docs.status { _ = try await helpdesk.connection.unary(
            RPCMethodName(service: "evil.Service\"}", method: "x"), payload: Data(), options: .init()) }
        let files = try server.pki.clientFiles(kind: "patient", id: Docs.alice)
        let anonymous = TLSFiles(certificateChain: "", privateKey: "", trustRoots: files.trustRoots)
        if let client = try? await server.connect(anonymous) { _ = try? await client.health.check(.init()) }

        let port = try #require(server.server.metricsAddress?.port)
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let text = String(decoding: data, as: UTF8.self)
        for series in [
            "dossier_calls_total{service=\"dossier.v1.Records\",method=\"GetRecord\",code=\"OK\"} 1",
            "dossier_calls_total{service=\"unknown\",method=\"unknown\",code=\"UNIMPLEMENTED\"} 1",
            "dossier_call_duration_seconds_bucket{service=\"dossier.v1.Records\",method=\"OpenRecord\",code=\"OK\",le=\"+Inf\"} 1",
            "dossier_call_duration_seconds_count{service=\"unknown\",method=\"unknown\",code=\"UNIMPLEMENTED\"} 1",
            "dossier_handshakes_total{outcome=\"ok\"} 2", "dossier_handshakes_total{outcome=\"handshake_failed\"} 1",
            "process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ", "process_max_fds ",
            "process_start_time_seconds ", "process_virtual_memory_bytes ",
            "dossier_calls_in_flight 0", "dossier_connections_open ", "dossier_handshake_failures_total{reason=",
            "dossier_access_log_appends_total ", "dossier_refusal_log_writes_lost_total ", "dossier_write_batch_operations_count ", "dossier_rocksdb_live_data_bytes ",
            "dossier_rocksdb_pending_compaction_bytes ", "dossier_rocksdb_write_stopped 0",
        ] {
            #expect(text.contains(series), "missing: \(series)")
        }
        #expect(!text.contains(Docs.alice) && !text.contains("evil"))
        let (_, notFound) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/other")!)
        #expect((notFound as? HTTPURLResponse)?.statusCode == 404)
        await server.stop()
    }
}
