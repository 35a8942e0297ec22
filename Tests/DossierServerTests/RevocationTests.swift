import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Operators revoke a client certificate by serial: every call with it is refused at once, on
/// open connections and new ones, and the revocation survives a restart.
@Suite struct RevocationTests {
    @Test func aRevokedCertificateCanNoLongerCallAnything() async throws {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        try await Docs.grant(patient, to: "gp-1001")
        let files = try server.pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp")
        let stolen = try await server.connect(files)
        _ = try await stolen.records.getRecord(.with { $0.patientID = Docs.alice })
        let serial = try #require(try await Docs.log(patient).last { $0.actor.id == "gp-1001" }?.actor.certificateSerial)

        // Upper case and colons are accepted; the stored form is CertificateProfile's.
        let colons = stride(from: 0, to: serial.count, by: 2).map { offset -> String in
            let start = serial.index(serial.startIndex, offsetBy: offset)
            return String(serial[start..<serial.index(start, offsetBy: 2)])
        }.joined(separator: ":").uppercased()
        let revoked = try await helpdesk.admin.revokeCertificate(.with {
            $0.serial = colons
            $0.reason = .keyCompromise
            $0.note = "ticket 4711"
        })
        #expect(revoked.newlyRevoked && revoked.revoked.serial == serial && revoked.revoked.revokedBy.id == "op-1")

        for client in [stolen, try await server.connect(files)] {
            let refused = await Docs.status { _ = try await client.records.getRecord(.with { $0.patientID = Docs.alice }) }
            #expect(refused?.code == .unauthenticated && refused?.reason == "CERT_REVOKED")
        }
        let other = try await server.connect(kind: "professional", id: "gp-2002", profession: "gp")
        #expect(await Docs.status { _ = try await other.health.check(.init()) } == nil)

        let again = try await helpdesk.admin.revokeCertificate(.with { $0.serial = serial })
        #expect(!again.newlyRevoked && again.revoked.note == "ticket 4711")
        let bad = await Docs.status { _ = try await helpdesk.admin.revokeCertificate(.with { $0.serial = "xyz" }) }
        #expect(bad?.code == .invalidArgument && bad?.reason == "INVALID_SERIAL")
        let byPatient = await Docs.status { _ = try await patient.admin.revokeCertificate(.with { $0.serial = "01" }) }
        #expect(byPatient?.code == .permissionDenied)
        await server.stop(removeData: false)

        let restarted = try await TestServer(pki: server.pki, dataDirectory: server.dataDirectory)
        let listed = try await restarted.connect(kind: "operator", id: "op-1").admin.listRevokedCertificates(.init())
        #expect(listed.certificates.map(\.serial) == [serial] && listed.certificates.first?.reason == .keyCompromise)
        let afterRestart = await Docs.status { _ = try await restarted.connect(files).health.check(.init()) }
        #expect(afterRestart?.reason == "CERT_REVOKED")
        await restarted.stop()
    }
}
