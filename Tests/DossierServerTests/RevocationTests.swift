import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Operators revoke a client certificate by serial: its open connections are closed at once,
/// new ones are refused at the handshake, and the revocation survives a restart.
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

        let onOpenConnection = await Outcome.call { _ = try await stolen.records.getRecord(.with { $0.patientID = Docs.alice }) }
        #expect(onOpenConnection.closedOrRevoked, "\(onOpenConnection)")
        #expect(await Outcome.of(server, files).refusedAtHandshake)
        let other = try await server.connect(kind: "professional", id: "gp-2002", profession: "gp")
        #expect(await Outcome.call { _ = try await other.health.check(.init()) }.succeeded)

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
        #expect(await Outcome.of(restarted, files).refusedAtHandshake)
        await restarted.stop()
    }
}

/// The client CA's CRL: verified at start and on reload, its serials refused on every call.
@Suite struct CRLTests {
    @Test func certificatesListedInTheCRLAreRefusedAndBadCRLsAreNotLoaded() async throws {
        let pki = try TestPKI()
        let stolen = try pki.clientFiles(kind: "professional", id: "gp-1001", profession: "gp")
        let honest = try pki.clientFiles(kind: "professional", id: "gp-2002", profession: "gp")
        let path = try pki.crl(revoking: [])
        let server = try await TestServer(pki: pki, crlPath: path)
        let before = try await server.connect(stolen)
        #expect(await Outcome.call { _ = try await before.health.check(.init()) }.succeeded)

        // A new CRL listing the stolen certificate, reloaded without restart.
        _ = try pki.crl(revoking: [stolen])
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        let reloaded = try await helpdesk.admin.reloadRevocationList(.init()).revocationList
        #expect(reloaded.revokedSerials == 1 && reloaded.hasNextUpdate)
        #expect(await Outcome.call { _ = try await before.health.check(.init()) }.closedOrRevoked)
        #expect(await Outcome.of(server, stolen).refusedAtHandshake)
        #expect(await Outcome.of(server, honest).succeeded)
        let listed = try await helpdesk.admin.listRevokedCertificates(.with { $0.source = .crl })
        #expect(listed.certificates.count == 1 && listed.certificates[0].source == .crl)

        // A tampered or expired CRL is refused; the one in force stays.
        _ = try pki.crl(revoking: [], tamper: true)
        let tampered = await Docs.status { _ = try await helpdesk.admin.reloadRevocationList(.init()) }
        #expect(tampered?.code == .failedPrecondition && tampered?.reason == "CRL_INVALID")
        _ = try pki.crl(revoking: [], nextUpdate: Date() - 3_600)
        let expired = await Docs.status { _ = try await helpdesk.admin.reloadRevocationList(.init()) }
        #expect(expired?.reason == "CRL_EXPIRED")
        #expect(await Outcome.of(server, stolen).refusedAtHandshake)
        await server.stop(removeData: false)

        // A server refuses to start on a CRL that does not verify.
        await #expect(throws: (any Error).self) {
            _ = try await TestServer(pki: pki, dataDirectory: server.dataDirectory, crlPath: path)
        }
        try? FileManager.default.removeItem(atPath: server.dataDirectory)
        pki.remove()
    }
}
