import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Abusive clients do not starve the others: hundreds of connections that never start the TLS
/// handshake, clients that trickle garbage one byte at a time, and a client that floods calls,
/// while a normal client's calls keep being answered.
@Suite struct StarvationTests {
    /// A raw TCP connection to 127.0.0.1:`port` (no TLS), or -1.
    static func rawConnection(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    @Test func idleTricklingAndFloodingClientsDoNotStarveANormalOne() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)

        // 300 connections that never say anything (they hold slots until the handshake timeout).
        let idle = (0..<300).map { _ in Self.rawConnection(port: server.port) }
        #expect(idle.allSatisfy { $0 >= 0 })
        // 20 connections trickling bytes that are not TLS.
        let trickling = (0..<20).map { _ in Self.rawConnection(port: server.port) }
        let trickle = Task.detached {
            for round in 0..<30 {
                for fd in trickling where fd >= 0 {
                    var byte = UInt8(truncatingIfNeeded: round)
                    _ = send(fd, &byte, 1, Int32(MSG_NOSIGNAL))
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        // A client flooding calls on its own connection (up to its in-flight limit).
        let flooder = try await server.connect(kind: "patient", id: Docs.alice)
        let flood = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<400 {
                    group.addTask { _ = try? await flooder.records.getRecord(.with { $0.patientID = Docs.alice }) }
                }
            }
        }

        // Meanwhile a normal client connects and is served, call after call, within its deadline.
        let normal = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        var answered = 0
        for _ in 0..<50 {
            let status = await Docs.status {
                _ = try await normal.health.check(.init(), options: RPCCallOptions(timeout: .seconds(5)))
            }
            if status == nil { answered += 1 }
        }
        #expect(answered == 50)

        await flood.value
        await trickle.value
        for fd in idle + trickling where fd >= 0 { close(fd) }
        await server.stop()
    }
}
