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
    /// The key that signs access-log checkpoints (64 hex digits; never created by the server:
    /// a start without one fails).
    public var logSigningKeyPath: String?
    /// How often the maintenance job runs: purge of closed records past their retention (also on
    /// demand: Admin.RunPurge), expired uploads, notices of expiring grants.
    public var purgeInterval: Duration = .seconds(3_600)
    /// Where Admin.CreateBackup writes checkpoints; nil: backups are refused (NO_BACKUP_ROOT).
    public var backupRoot: String?
    /// Where Admin.CreateBackup also writes a checkpoint of the key store (same name); nil:
    /// key-store backups are the operator's business (docs/OPERATIONS.md, "The key store").
    public var keyStoreBackupRoot: String?
    /// Key-store backups older than this are deleted by the maintenance job: the longest time
    /// during which a purged record could still be brought back by restoring one.
    public var keyStoreBackupRetention: Duration = .seconds(30 * 86_400)
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
