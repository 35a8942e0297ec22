import DossierClient
import DossierCore
import DossierServer
import DossierStore
import Foundation
import Logging

/// A real `DossierServer` on 127.0.0.1, port 0, with its own PKI and data directory.
public final class TestServer: Sendable {
    public let pki: TestPKI
    public let dataDirectory: String
    public let server: DossierServer
    public let port: Int

    public init(
        pki: TestPKI? = nil, dataDirectory: String? = nil, policy: RecordPolicy = .init(),
        presenceCodes: PresenceCodePolicy = .init(), accessMatrix: AccessMatrixFile? = nil, logger: Logger? = nil,
        backupRoot: String? = nil, metrics: Bool = false, masterKey: MasterKey? = nil, previousMasterKey: MasterKey? = nil,
        crlPath: String? = nil, maintenanceInterval: Duration? = nil, documents: DocumentPolicy = .init()
    ) async throws {
        let pki = try pki ?? TestPKI()
        let dataDirectory = dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("dossier-data-\(UUID().uuidString)").path
        var configuration = ServerConfiguration(
            transport: ServerTransportConfiguration(host: "127.0.0.1", port: 0, tls: try pki.serverFiles()),
            store: StoreConfiguration(
                path: dataDirectory, threads: 8, blockCacheBytes: 8 << 20, masterKey: masterKey, previousMasterKey: previousMasterKey),
            policy: policy, eventLoopThreads: 2)
        configuration.presenceCodes = presenceCodes
        configuration.documents = documents
        if let accessMatrix { configuration.accessMatrix = accessMatrix }
        configuration.backupRoot = backupRoot
        configuration.crlPath = crlPath
        if let maintenanceInterval { configuration.purgeInterval = maintenanceInterval }
        if metrics { configuration.metrics = ("127.0.0.1", 0) }
        let watched = Logger(label: "dossierd-test") { label in PrivacyWatchHandler(label: label) }
        server = try DossierServer(configuration: configuration, logger: logger ?? watched)
        let address = try await server.start()
        self.pki = pki
        self.dataDirectory = dataDirectory
        self.port = address.port!
    }

    /// Connects with the given TLS files (e.g. from `pki.clientFiles(...)`).
    public func connect(_ files: TLSFiles) async throws -> DossierClient {
        try await DossierClient.connect(ClientConfiguration(host: "127.0.0.1", port: port, tls: files))
    }

    /// Connects as a principal of the profile.
    public func connect(
        kind: String, id: String, profession: String? = nil, organisation: String? = nil
    ) async throws -> DossierClient {
        try await connect(try pki.clientFiles(kind: kind, id: id, profession: profession, organisation: organisation))
    }

    /// Opens an active volunteer record for `patient` (no objection period) with an operator's
    /// connection, as the helpdesk would for a patient asking in person.
    public func openActiveRecord(_ patient: String, as helpdesk: DossierClient) async throws {
        _ = try await helpdesk.records.openRecord(.with {
            $0.patientID = patient
            $0.enrollment = .volunteer
            $0.skipObjectionPeriod = true
        })
    }

    /// Drains and stops the server; keeps the data unless `removeData`.
    public func stop(removeData: Bool = true) async {
        await server.shutdown()
        if removeData {
            try? FileManager.default.removeItem(atPath: dataDirectory)
            pki.remove()
        }
    }
}
