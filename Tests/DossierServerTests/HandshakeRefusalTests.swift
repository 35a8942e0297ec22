import DossierClient
import DossierServer
import DossierProto
import DossierTestSupport
import DossierWire
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// docs/PROTOCOL.md 2.1: certificates that are expired, not yet valid, without the clientAuth
/// usage or revoked never get to send a call — the TLS handshake refuses them — and the server
/// goes on serving everybody else.
@Suite struct HandshakeRefusalTests {
    @Test func expiredNotYetValidAndNonClientAuthCertificatesAreRefused() async throws {
        let server = try await TestServer(metrics: true)
        let now = Date()
        let foreign = try TestPKI(name: "Foreign CA")
        var fromForeignCA = try foreign.clientFiles(kind: "professional", id: "gp-far", profession: "gp")
        fromForeignCA.trustRoots = server.pki.caPath
        // Each refusal is counted under its reason.
        let refused = [
            "certificate_untrusted": fromForeignCA,
            "certificate_expired": try server.pki.clientFiles(
                kind: "professional", id: "gp-old", profession: "gp", validity: (now - 86_400 * 60)...(now - 86_400)),
            "certificate_not_yet_valid": try server.pki.clientFiles(
                kind: "professional", id: "gp-new", profession: "gp", validity: (now + 86_400)...(now + 86_400 * 60)),
            "certificate_usage": try server.pki.clientFiles(
                kind: "professional", id: "gp-srv", profession: "gp", usages: [.serverAuth]),
        ]
        for (reason, files) in refused {
            let outcome = await Outcome.of(server, files)
            #expect(outcome.refusedAtHandshake, "\(reason): \(outcome)")
            #expect(try await Self.handshakeFailures(server, reason: reason) == 1, "\(reason)")
        }
        // The same CA, profile and dates with clientAuth: accepted.
        let good = try server.pki.clientFiles(kind: "professional", id: "gp-ok", profession: "gp", usages: [.serverAuth, .clientAuth])
        #expect(await Outcome.of(server, good).succeeded)
        #expect(try await Self.handshakeFailures(server) == refused.count)
        foreign.remove()
        await server.stop()
    }

    /// A keyUsage without digitalSignature: BoringSSL refuses it while parsing the Certificate
    /// message, before Dossier's verifier, with alert illegal_parameter (47) — PROTOCOL.md 2.1
    /// says so — and the server counts it as a usage refusal.
    @Test func aKeyUsageWithoutDigitalSignatureIsRefusedAndCountedAsAUsageRefusal() async throws {
        let server = try await TestServer(metrics: true)
        let files = try server.pki.clientFiles(kind: "professional", id: "gp-ku", profession: "gp", digitalSignature: false)
        // (swift-nio-ssl's own client refuses to present such a certificate: OpenSSL's does.)
        let printed = try await Self.openSSLHealthCall(server, files)
        #expect(printed.contains("illegal parameter"), "\(printed)")
        #expect(!printed.contains(DossierServer.version))
        // The server counts the failure as its TLS handler closes, maybe after the client saw the alert.
        var counted = 0
        for _ in 0..<50 {
            counted = try await Self.handshakeFailures(server, reason: "certificate_usage")
            if counted == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let text = try await Self.metricsText(server)
        #expect(counted == 1, "\(text)")
        await server.stop()
    }

    @Test func aRevokedCertificateIsRefusedAtTheHandshakeAndItsOpenConnectionsAreClosed() async throws {
        let server = try await TestServer(metrics: true)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let stolen = try server.pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp")
        let open = try await server.connect(stolen)
        #expect(try await open.health.check(.init()).status == .serving)
        let other = try await server.connect(kind: "professional", id: "gp-2002", profession: "gp")

        _ = try await helpdesk.admin.revokeCertificate(.with { $0.serial = try server.pki.serial(of: stolen) })
        // The open connection is closed by the server (a call racing the close is refused
        // with CERT_REVOKED instead); it never succeeds again.
        for _ in 0..<3 {
            let outcome = await Outcome.call { _ = try await open.health.check(.init()) }
            #expect(outcome.closedOrRevoked, "\(outcome)")
        }
        #expect(await Outcome.of(server, stolen).refusedAtHandshake)
        #expect(await Outcome.call { _ = try await other.health.check(.init()) }.succeeded)
        #expect(await Outcome.call { _ = try await helpdesk.health.check(.init()) }.succeeded)
        #expect(try await Self.handshakeFailures(server, reason: "certificate_revoked") == 1)
        await server.stop()
    }

    @Test func aCertificateInTheCRLIsRefusedAtTheHandshakeFromStartAndAfterReload() async throws {
        let pki = try TestPKI()
        let listed = try pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp")
        let later = try pki.clientFiles(kind: "professional", id: "gp-3003", profession: "gp")
        let path = try pki.crl(revoking: [listed])
        let server = try await TestServer(pki: pki, crlPath: path)
        #expect(await Outcome.of(server, listed).refusedAtHandshake)
        let open = try await server.connect(later)
        #expect(await Outcome.call { _ = try await open.health.check(.init()) }.succeeded)

        _ = try pki.crl(revoking: [listed, later])
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        _ = try await helpdesk.admin.reloadRevocationList(.init())
        #expect(await Outcome.call { _ = try await open.health.check(.init()) }.closedOrRevoked)
        #expect(await Outcome.of(server, later).refusedAtHandshake)
        #expect(await Outcome.of(server, try pki.clientFiles(kind: "professional", id: "gp-4004", profession: "gp")).succeeded)
        await server.stop()
        pki.remove()
    }

    /// A resumed TLS session skips the certificate messages: the server verifies the session's
    /// certificate again before serving it. OpenSSL's s_client keeps and offers the session.
    @Test func aResumedSessionOfARevokedCertificateIsRefused() async throws {
        let server = try await TestServer(metrics: true)
        let files = try server.pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp")
        let session = server.pki.directory.appendingPathComponent("session.pem").path
        let first = try await Self.openSSLHealthCall(server, files, sessionOut: session)
        #expect(first.contains(DossierServer.version), "a full handshake is answered")
        #expect(FileManager.default.fileExists(atPath: session), "the server issued a session ticket")
        let resumed = try await Self.openSSLHealthCall(server, files, sessionIn: session)
        #expect(resumed.contains("Reused"), "the session was resumed")
        #expect(resumed.contains(DossierServer.version), "a resumed session of a good certificate is answered")

        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        _ = try await helpdesk.admin.revokeCertificate(.with { $0.serial = try server.pki.serial(of: files) })
        let afterRevocation = try await Self.openSSLHealthCall(server, files, sessionIn: session)
        #expect(afterRevocation.contains("Reused"), "the session was resumed")
        #expect(!afterRevocation.contains(DossierServer.version), "no answer on a resumed session of a revoked certificate")
        #expect(try await Self.handshakeFailures(server, reason: "certificate_revoked") == 1)
        await server.stop()
    }

    /// Runs `openssl s_client` (a Debian package `make test` installs): one Health call as a
    /// raw ttrpc frame, reading until the answer or the end of the connection; returns what it
    /// printed.
    static func openSSLHealthCall(_ server: TestServer, _ files: TLSFiles, sessionOut: String? = nil, sessionIn: String? = nil) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        var arguments = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", files.trustRoots, "-tls1_3"]
        if let sessionIn {
            arguments += ["-sess_in", sessionIn]
        } else {
            arguments += ["-cert", files.certificateChain, "-key", files.privateKey]
        }
        if let sessionOut { arguments += ["-sess_out", sessionOut] }
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        let printed = OutputBuffer()
        try process.run()
        // Read by a thread of our own with plain read(2): Foundation's readabilityHandler and a
        // final readDataToEndOfFile raced on the same descriptor (a crash in memmove seen in CI).
        let reader = printed.drain(output.fileHandleForReading.fileDescriptor)
        // Health/Check on stream 1: header (length 26, stream 1, request) and the envelope.
        let frame: [UInt8] = [0, 0, 0, 26, 0, 0, 0, 1, 1, 0, 0x0a, 17] + Array("dossier.v1.Health".utf8) + [0x12, 5] + Array("Check".utf8)
        try input.fileHandleForWriting.write(contentsOf: frame)
        // Until the answer came or the server closed the connection (s_client then exits); at
        // most 15 s, for a loaded machine.
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning, !printed.text.contains(DossierServer.version), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        reader.wait()  // Process closed its copy of the write end at launch: the end comes with the exit
        return printed.text
    }

    static func metricsText(_ server: TestServer) async throws -> String {
        let port = try #require(server.server.metricsAddress?.port)
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.contains("handshake") }.joined(separator: "\n")
    }

    /// The `dossier_handshake_failures_total` counters, summed (or for one reason).
    static func handshakeFailures(_ server: TestServer, reason: String? = nil) async throws -> Int {
        let port = try #require(server.server.metricsAddress?.port)
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("dossier_handshake_failures_total{reason=\"\(reason.map { $0 + "\"" } ?? "")") }
            .compactMap { Int($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }
}

/// What a child process printed so far, filled by a reader thread.
final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    /// Reads `descriptor` on a thread of its own until the end of the pipe; the semaphore is
    /// signalled then.
    func drain(_ descriptor: Int32) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                append(Data(buffer[0..<count]))
            }
            done.signal()
        }
        thread.start()
        return done
    }

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// How one call ended, telling a handshake refusal (or closed connection) from an RPC status.
enum Outcome: CustomStringConvertible {
    case succeeded
    case status(RPCStatusError)
    case transport(any Error)

    /// Connects with `files` and calls Health. With TLS 1.3 a refusal surfaces at connect or at
    /// the first read.
    static func of(_ server: TestServer, _ files: TLSFiles) async -> Outcome {
        do {
            let client = try await server.connect(files)
            defer { Task { await client.close() } }
            return await call { _ = try await client.health.check(.init()) }
        } catch {
            return .transport(error)
        }
    }

    static func call(_ body: () async throws -> Void) async -> Outcome {
        do {
            try await body()
            return .succeeded
        } catch let error as RPCStatusError {
            return .status(error)
        } catch {
            return .transport(error)
        }
    }

    var succeeded: Bool { if case .succeeded = self { true } else { false } }
    var refusedAtHandshake: Bool { if case .transport = self { true } else { false } }
    var closedOrRevoked: Bool {
        switch self {
        case .succeeded: false
        case .status(let error): error.code == .unauthenticated && error.reason == "CERT_REVOKED"
        case .transport: true
        }
    }

    var description: String {
        switch self {
        case .succeeded: "succeeded"
        case .status(let error): "status \(error.code) \(error.reason ?? "")"
        case .transport(let error): "transport error \(error)"
        }
    }
}
