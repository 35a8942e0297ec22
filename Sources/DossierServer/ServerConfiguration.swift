import DossierCore
import DossierStore
import DossierTransport

/// Everything `dossierd` needs, one value per layer, with defaults.
public struct ServerConfiguration: Sendable {
    public var transport: ServerTransportConfiguration
    public var store: StoreConfiguration
    public var policy: RecordPolicy
    public var presenceCodes: PresenceCodePolicy = .init()
    public var emergency: EmergencyPolicy = .init()
    public var documents: DocumentPolicy = .init()
    /// What each profession may see; also says who may open emergency access.
    public var accessMatrix: AccessMatrixFile = .shippedDefault()
    /// The key that signs access-log checkpoints; nil: `log-signing-key` in the data directory,
    /// created on first start (development).
    public var logSigningKeyPath: String?
    /// How often the maintenance job runs: purge of closed records past their retention (also on
    /// demand: Admin.RunPurge), expired uploads, notices of expiring grants.
    public var purgeInterval: Duration = .seconds(3_600)
    /// Where Admin.CreateBackup writes checkpoints; nil: backups are refused (NO_BACKUP_ROOT).
    public var backupRoot: String?
    /// A CRL of the client CA (PEM or DER); nil: none. Reloaded by Admin.ReloadRevocationList
    /// and SIGHUP.
    public var crlPath: String?
    /// The Prometheus endpoint (plain HTTP, GET /metrics); nil: none.
    public var metrics: (host: String, port: Int)?
    /// Event-loop threads (default: one per core).
    public var eventLoopThreads: Int

    public init(
        transport: ServerTransportConfiguration, store: StoreConfiguration, policy: RecordPolicy = .init(),
        eventLoopThreads: Int = System.coreCount
    ) {
        self.transport = transport
        self.store = store
        self.policy = policy
        self.eventLoopThreads = eventLoopThreads
    }
}

import NIOCore
