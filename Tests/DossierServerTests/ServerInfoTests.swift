import DossierClient
import DossierProto
import DossierServer
import DossierTestSupport
import Foundation
import Testing

/// Admin.GetServerInfo: what an operator checks after a deployment — version, limits, key ids.
@Suite struct ServerInfoTests {
    @Test func operatorsSeeTheLimitsAndKeyIDsInForce() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let info = try await helpdesk.admin.getServerInfo(.init())
        #expect(info.version == DossierServer.version && info.hasStartedAt && info.hasServerTime)
        #expect(info.limits.maxInlineContentBytes == 3 << 20 && info.limits.maxChunkBytes == 1 << 20)
        #expect(info.limits.maxFrameBytes == 4 << 20 && info.limits.retentionPeriod.seconds > 0)
        #expect(info.masterKeyID.count == 16 && !info.masterKeyRotationPending && info.logSigningKeyID.hasPrefix("ed25519-"))
        #expect(info.accessMatrixSha256.count == 64 && !info.hasRevocationList)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let denied = await Docs.status { _ = try await patient.admin.getServerInfo(.init()) }
        #expect(denied?.code == .permissionDenied)
        await server.stop()
    }
}
