@_exported public import DossierProto
@_exported public import DossierTransport
@_exported public import DossierWire
import Foundation

/// A connection to a Dossier server with a typed client per service.
///
/// ```swift
/// let client = try await DossierClient.connect(ClientConfiguration(host: "127.0.0.1", port: 7443, tls: files))
/// let record = try await client.records.getRecord(.with { $0.patientID = "1985010112345" }).record
/// ```
public struct DossierClient: Sendable {
    public let connection: ClientConnection

    public var health: Dossier_V1_HealthClient<ClientConnection> { .init(connection) }
    public var records: Dossier_V1_RecordsClient<ClientConnection> { .init(connection) }
    public var documents: Dossier_V1_DocumentsClient<ClientConnection> { .init(connection) }
    public var access: Dossier_V1_AccessClient<ClientConnection> { .init(connection) }
    public var accessLog: Dossier_V1_AccessLogClient<ClientConnection> { .init(connection) }
    public var notifications: Dossier_V1_NotificationsClient<ClientConnection> { .init(connection) }
    public var rectification: Dossier_V1_RectificationClient<ClientConnection> { .init(connection) }
    public var statistics: Dossier_V1_StatisticsClient<ClientConnection> { .init(connection) }
    public var admin: Dossier_V1_AdminClient<ClientConnection> { .init(connection) }
    public var portability: Dossier_V1_PortabilityClient<ClientConnection> { .init(connection) }

    public init(connection: ClientConnection) {
        self.connection = connection
    }

    /// Connects with mutual TLS.
    public static func connect(_ configuration: ClientConfiguration) async throws -> DossierClient {
        DossierClient(connection: try await ClientConnection.connect(configuration))
    }

    public func close() async {
        await connection.close()
    }
}
