import DossierClient
import DossierCore
import DossierServer
import DossierStore
import DossierTransport
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
        crlPath: String? = nil, maintenanceInterval: Duration? = nil, documents: DocumentPolicy = .init(),
        keyStorePath: String? = nil, keyStoreBackupRoot: String? = nil, limits: TransportLimits? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws {
        let pki = try pki ?? TestPKI()
        let dataDirectory = dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("dossier-data-\(UUID().uuidString)").path
        var store = StoreConfiguration(
            path: dataDirectory, keyStorePath: keyStorePath ?? Self.keyStorePath(of: dataDirectory),
            masterKey: masterKey ?? Self.masterKey, threads: 8, blockCacheBytes: 8 << 20, previousMasterKey: previousMasterKey)
        store.engine = TestStorage.engine(forDataDirectory: dataDirectory)
        var configuration = ServerConfiguration(
            transport: ServerTransportConfiguration(host: "127.0.0.1", port: 0, tls: try pki.serverFiles(), limits: limits ?? .init()),
            store: store, policy: policy, eventLoopThreads: 2)
        configuration.logSigningKeyPath = try Self.logSigningKey(of: dataDirectory)
        configuration.keyStoreBackupRoot = keyStoreBackupRoot
        configuration.presenceCodes = presenceCodes
        configuration.documents = documents
        if let accessMatrix { configuration.accessMatrix = accessMatrix }
        configuration.backupRoot = backupRoot
        configuration.crlPath = crlPath
        if let maintenanceInterval { configuration.purgeInterval = maintenanceInterval }
        if metrics { configuration.metrics = ("127.0.0.1", 0) }
        let watched = Logger(label: "dossierd-test") { label in PrivacyWatchHandler(label: label) }
        server = try DossierServer(configuration: configuration, logger: logger ?? watched, clock: clock)
        let address = try await server.start()
        self.pki = pki
        self.dataDirectory = dataDirectory
        self.port = address.port!
    }

    /// The master key of test servers that are not given one (the same for every restart).
    public static let masterKey = try! MasterKey(bytes: Array(repeating: 0x42, count: 32))

    /// A store on a stopped test server's data (its engine as TestStorage says), for tests that
    /// read what the server wrote.
    public static func storeConfiguration(of dataDirectory: String, masterKey: MasterKey = TestServer.masterKey) -> StoreConfiguration {
        var configuration = StoreConfiguration(
            path: dataDirectory, keyStorePath: keyStorePath(of: dataDirectory), masterKey: masterKey, threads: 2)
        configuration.engine = TestStorage.engine(forDataDirectory: dataDirectory)
        return configuration
    }

    /// Where a test server keeps its key store: beside its data directory, not inside it.
    public static func keyStorePath(of dataDirectory: String) -> String { dataDirectory + ".keys" }

    /// A log-signing key file beside the data directory, made on first use (0600).
    static func logSigningKey(of dataDirectory: String) throws -> String {
        let path = dataDirectory + ".log-signing-key"
        if !FileManager.default.fileExists(atPath: path) {
            let hex = (0..<32).map { _ in UInt8.random(in: 0...255) }.hex + "\n"
            guard FileManager.default.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
        return path
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
            try? FileManager.default.removeItem(atPath: Self.keyStorePath(of: dataDirectory))
            try? FileManager.default.removeItem(atPath: dataDirectory + ".log-signing-key")
            pki.remove()
        }
    }
}
