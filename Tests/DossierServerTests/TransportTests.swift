import DossierClient
import DossierProto
import DossierTestSupport
import DossierWire
import Foundation
import Testing

/// The wire contract of docs/PROTOCOL.md on a real loopback mTLS socket.
@Suite struct TransportTests {
    @Test func professionalCertificateCanCallHealth() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "professional", id: "gp-1", profession: "gp")
        let response = try await client.health.check(.init())
        #expect(response.status == .serving)
        await client.close()
        await server.stop()
    }

    @Test func connectionWithoutCertificateIsRefused() async throws {
        let server = try await TestServer()
        let files = TLSFiles(certificateChain: "", privateKey: "", trustRoots: server.pki.caPath)
        await #expect(throws: (any Error).self) {
            // TLS 1.3: the refusal may only surface on the first read.
            let client = try await server.connect(files)
            _ = try await client.health.check(.init())
        }
        try await expectStillServing(server)
        await server.stop()
    }

    @Test func certificateFromAnotherCAIsRefused() async throws {
        let server = try await TestServer()
        let foreign = try TestPKI(name: "Foreign CA")
        var files = try foreign.clientFiles(kind: "professional", id: "gp-9", profession: "gp")
        files.trustRoots = server.pki.caPath
        await #expect(throws: (any Error).self) {
            let client = try await server.connect(files)
            _ = try await client.health.check(.init())
        }
        try await expectStillServing(server)
        foreign.remove()
        await server.stop()
    }

    @Test func certificateOutsideTheProfileGetsUnauthenticated() async throws {
        let server = try await TestServer()
        let files = try server.pki.clientFiles(kind: "professional", id: "x", uris: ["https://example.org"])
        let client = try await server.connect(files)
        let error = await #expect(throws: RPCStatusError.self) { try await client.health.check(.init()) }
        #expect(error?.code == .unauthenticated)
        await client.close()
        await server.stop()
    }

    @Test func oversizedDeclaredLengthIsAnsweredWithoutBuffering() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "operator", id: "op-1")
        // Declares 100 MiB but sends only 1 KiB: the answer must come before the payload could
        // have been buffered.
        var header = [UInt8]()
        header += withUnsafeBytes(of: UInt32(100 << 20).bigEndian, Array.init)
        header += withUnsafeBytes(of: UInt32(1).bigEndian, Array.init)
        header += [1, 0]
        let pending = Task { try await client.connection.awaitResponse(streamID: 1) }
        try await Task.sleep(for: .milliseconds(50))
        try await client.connection.sendRaw(header + [UInt8](repeating: 0xAB, count: 1024))
        let response = try await pending.value
        #expect(response.status.code == StatusCode.resourceExhausted.rawValue)
        #expect(response.status.message.contains("exceed maximum message size"))
        try await expectStillServing(server)
        await client.close()
        await server.stop()
    }

    @Test func unknownServiceAndMethodAreUnimplemented() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "operator", id: "op-1")
        for (service, method, text) in [
            ("dossier.v1.Nope", "Check", "service dossier.v1.Nope"),
            ("dossier.v1.Health", "Nope", "method dossier.v1.Health/Nope"),
        ] {
            var request = Ttrpc_Request()
            request.service = service
            request.method = method
            let response = try await client.connection.send(request)
            #expect(response.status.code == StatusCode.unimplemented.rawValue)
            #expect(response.status.message == text)
        }
        await client.close()
        await server.stop()
    }

    /// PROTOCOL.md 5.2: `status` is always present, on success too (an empty message: `0a 00`).
    @Test func aSuccessfulAnswerCarriesAnEmptyStatus() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "operator", id: "op-1")
        var request = Ttrpc_Request()
        request.service = "dossier.v1.Health"
        request.method = "Check"
        let response = try await client.connection.send(request)
        #expect(response.hasStatus && response.status.code == 0)
        let bytes: [UInt8] = try response.serializedBytes()
        #expect(Array(bytes.prefix(2)) == [0x0a, 0x00])
        await client.close()
        await server.stop()
    }

    @Test func garbagePayloadIsInvalidArgument() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "operator", id: "op-1")
        var request = Ttrpc_Request()
        request.service = "dossier.v1.Records"
        request.method = "GetRecord"
        request.payload = Data([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        let response = try await client.connection.send(request)
        #expect(response.status.code == StatusCode.invalidArgument.rawValue)
        await client.close()
        await server.stop()
    }

    @Test func badFramesGetTheDocumentedStatus() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "operator", id: "op-1")
        func frame(_ streamID: UInt32, type: UInt8, _ payload: [UInt8]) -> [UInt8] {
            withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init)
                + withUnsafeBytes(of: streamID.bigEndian, Array.init) + [type, 0] + payload
        }
        var health = Ttrpc_Request()
        health.service = "dossier.v1.Health"
        health.method = "Check"
        let healthBytes: [UInt8] = try health.serializedBytes()
        let cases: [(frame: [UInt8], streamID: UInt32, code: StatusCode, text: String)] = [
            (frame(2, type: 1, healthBytes), 2, .invalidArgument, "StreamID must be odd"),
            (frame(5, type: 1, [0xFF, 0xFF, 0xFF]), 5, .invalidArgument, "unmarshal request error"),
            (frame(3, type: 1, healthBytes), 3, .invalidArgument, "cannot be re-used"),
            (frame(9, type: 3, [1, 2, 3]), 9, .invalidArgument, "no longer active"),
            (frame(11, type: 1, healthBytes), 11, .ok, ""),
        ]
        for item in cases {
            let pending = Task { try await client.connection.awaitResponse(streamID: item.streamID) }
            try await Task.sleep(for: .milliseconds(20))
            try await client.connection.sendRaw(item.frame)
            let response = try await pending.value
            #expect(response.status.code == item.code.rawValue, "stream \(item.streamID)")
            if !item.text.isEmpty {
                #expect(response.status.message.contains(item.text), "stream \(item.streamID): \(response.status.message)")
            }
        }
        await client.close()
        await server.stop()
    }

    @Test func hundredConcurrentCallsOnOneConnectionAreAllAnswered() async throws {
        let server = try await TestServer()
        let client = try await server.connect(kind: "operator", id: "op-1")
        let patients = (0..<100).map { String(format: "p%05d", $0) }
        let opened = try await withThrowingTaskGroup(of: String.self) { group in
            for patient in patients {
                group.addTask {
                    let response = try await client.records.openRecord(.with {
                        $0.patientID = patient
                        $0.enrollment = .volunteer
                    })
                    return response.record.patientID
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(opened.sorted() == patients)
        await client.close()
        await server.stop()
    }

    @Test func dataSurvivesARestart() async throws {
        let first = try await TestServer()
        let operatorClient = try await first.connect(kind: "operator", id: "op-1")
        try await first.openActiveRecord("1985010112345", as: operatorClient)
        await operatorClient.close()
        await first.stop(removeData: false)

        let second = try await TestServer(pki: first.pki, dataDirectory: first.dataDirectory)
        let patient = try await second.connect(kind: "patient", id: "1985010112345")
        let record = try await patient.records.getRecord(.with { $0.patientID = "1985010112345" }).record
        #expect(record.state == .active)
        await patient.close()
        await second.stop()
    }

    private func expectStillServing(_ server: TestServer) async throws {
        let client = try await server.connect(kind: "professional", id: "gp-2", profession: "gp")
        #expect(try await client.health.check(.init()).status == .serving)
        await client.close()
    }
}
