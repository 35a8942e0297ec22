import DossierCore
import DossierFHIR
import DossierProto
import DossierStore
import DossierTransport
import DossierWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import X509

/// The Dossier server: storage, use cases, handlers and the ttrpc transport, as one
/// `Service`. Shutdown (SIGTERM/SIGINT through the ServiceGroup): stop accepting, drain
/// in-flight calls, close RocksDB last.
public final class DossierServer: Service {
    public static let version = DossierVersion.current

    public let configuration: ServerConfiguration
    public let servingState = ServingState()
    private let logger: Logger
    private let store: DossierStore
    private let group: MultiThreadedEventLoopGroup
    private let transport: TTRPCServer<Dispatcher>
    /// The request router, for in-process drivers (the fuzz harnesses) that bypass the network.
    public let dispatcher: Dispatcher
    /// The registry behind the metrics endpoint (swift-prometheus): `dossierd` hands it to
    /// swift-metrics, so that libraries' metrics are exported too.
    public let metricsRegistry: PrometheusCollectorRegistry
    private let isStarted = NIOLockedValueBox(false)
    private let purge: PurgeService
    private let revocations: Revocations
    private let notifications: NotificationService
    private let maintenance = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let metricsEndpoint: MetricsEndpoint
    private let metricsChannel = NIOLockedValueBox<(any Channel)?>(nil)
    private let backups: Backups

    /// Opens storage and builds the TLS context: a bad configuration fails here, with a
    /// message that says what is wrong.
    public init(configuration: ServerConfiguration, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.configuration = configuration
        self.logger = logger
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let store: DossierStore
        do {
            store = try DossierStore(configuration: configuration.store)
        } catch {
            try? group.syncShutdownGracefully()
            throw ServerStartupError(
                error is KeyStoreError || error is KeyFileError || error is PermissionsError || error is SealingError
                    ? "\(error)"
                    : configuration.store.engine == nil
                        ? "cannot open the data directory \(configuration.store.path): \(error)" : "cannot open the database: \(error)")
        }
        let signer: LogSigningKeys
        do {
            guard let path = configuration.logSigningKeyPath else {
                throw ServerStartupError("no log-signing key is configured (--log-signing-key FILE, 64 hex digits)")
            }
            signer = try LogSigningKeys.load(path: path, allowOpenPermissions: configuration.store.allowOpenPermissions)
        } catch {
            store.close()
            try? group.syncShutdownGracefully()
            throw error
        }
        let purge = PurgeService(repository: store, clock: clock)
        let notificationService = NotificationService(repository: store, clock: clock)
        let revocations: Revocations
        let authorities: ClientAuthorities
        do {
            authorities = try ClientAuthorities(path: configuration.transport.tls.trustRoots)
        } catch {
            store.close()
            try? group.syncShutdownGracefully()
            throw ServerStartupError("\(error)")
        }
        do {
            revocations = try Revocations(store: store, crlPath: configuration.crlPath, authorities: authorities.certificates)
        } catch {
            store.close()
            try? group.syncShutdownGracefully()
            throw ServerStartupError("cannot load the revoked certificates: \(error)")
        }
        let backups = Backups(
            root: configuration.backupRoot, keyStoreRoot: configuration.keyStoreBackupRoot,
            keyStoreRetention: configuration.keyStoreBackupRetention, store: store)
        self.backups = backups
        let records = RecordService(repository: store, policy: configuration.policy, clock: clock)
        let access = AccessService(repository: store, clock: clock)
        let matrix = AccessMatrixInForce(configuration.accessMatrix)
        let documents = DocumentService(
            repository: store, policy: configuration.documents, matrix: { matrix.current.matrix }, makeHasher: SHA256ContentHasher.factory,
            clock: clock)
        let methods =
            RecordsHandler(records: records).serverMethods
            + AccessHandler(
                access: access,
                presence: PresenceCodeService(
                    repository: store, policy: configuration.presenceCodes, clock: clock, digest: PresenceCodeDigest.sha256),
                emergency: EmergencyAccessService(
                    repository: store, policy: configuration.emergency, clock: clock,
                    allowedProfessions: { matrix.emergencyProfessions })
            ).serverMethods
            + DocumentsHandler(documents: documents).serverMethods
            + RectificationHandler(documents: documents).serverMethods
            + AdminHandler(
                accessMatrix: matrix, purge: purge,
                backups: backups, revocations: revocations,
                store: store, configuration: configuration, logSigningKeyID: signer.currentKeyID, startedAt: clock(),
                logger: logger
            ).serverMethods
            + StatisticsHandler(statistics: StatisticsService(repository: store, clock: clock)).serverMethods
            + AccessLogHandler(log: AccessLogService(repository: store, signer: signer, hash: LogSigningKeys.sha256, clock: clock)).serverMethods
            + NotificationsHandler(notifications: notificationService).serverMethods
            + PortabilityHandler(
                export: ExportService(repository: store, format: FHIRExportFormat(), clock: clock), documents: documents
            ).serverMethods
            + HealthHandler(state: servingState, version: Self.version).serverMethods
        let callMetrics = CallMetrics()
        metricsRegistry = callMetrics.registry
        let dispatcher = Dispatcher(
            methods: methods, logger: logger, metrics: callMetrics, isRevoked: { revocations.isRevoked($0) },
            pageTokenKey: store.derivedSecret("page-tokens"))
        self.dispatcher = dispatcher
        do {
            transport = try TTRPCServer(
                configuration: configuration.transport, service: dispatcher, group: group, authorities: authorities,
                isRevoked: { revocations.isRevoked(serialBytes: $0) })
        } catch {
            store.close()
            try? group.syncShutdownGracefully()
            throw ServerStartupError("\(error)")
        }
        self.store = store
        self.group = group
        self.purge = purge
        self.revocations = revocations
        self.notifications = notificationService
        let transport = self.transport
        // Connection events: failures where ops look (notice), the rest at debug.
        transport.counters.onEvent { [logger] event, reason in
            let level: Logger.Level = reason == nil ? .debug : .notice
            logger.log(level: level, "\(event)", metadata: reason.map { ["reason": "\($0)"] } ?? [:])
        }
        // A new revocation or CRL also ends the open connections it concerns.
        revocations.onChange { [weak transport] in transport?.closeRevokedConnections() }
        self.metricsEndpoint = MetricsEndpoint(
            calls: callMetrics, transport: { (transport.connectionCount, transport.counters.snapshot) }, store: store,
            inflight: { (transport.budget.inUse, transport.budget.waiting, transport.budget.limit) })
    }

    /// Reloads the configured CRL (SIGHUP); the one in force stays on error.
    public func reloadRevocationList() {
        do {
            let list = try revocations.reloadCRL()
            logger.notice("CRL reloaded", metadata: ["serials": "\(list.entries.count)"])
        } catch {
            logger.error("CRL not reloaded", metadata: ["error": "\(error)"])
        }
    }

    /// Bytes of requests admitted and not yet answered (the in-flight budget in use).
    public var inflightBytes: Int { transport.budget.inUse }

    /// The address of the metrics endpoint, once started (tests use port 0).
    public var metricsAddress: SocketAddress? {
        metricsChannel.withLockedValue { $0?.localAddress }
    }

    /// Binds the socket; returns the bound address. `run()` calls it; tests may call it first.
    public func start() async throws -> SocketAddress {
        if let metrics = configuration.metrics {
            do {
                let channel = try await metricsEndpoint.start(host: metrics.host, port: metrics.port, group: group)
                metricsChannel.withLockedValue { $0 = channel }
                logger.info("metrics", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            } catch {
                throw ServerStartupError("cannot serve metrics on \(metrics.host):\(metrics.port): \(socketErrorText(error))")
            }
        }
        let address = try await transport.start()
        servingState.markServing()
        logger.info("listening", metadata: ["address": "\(address)"])
        isStarted.withLockedValue { $0 = true }
        maintenance.withLockedValue {
            $0 = Task { [self] in
                async let trimming: Void = returnMemoryWhenIdle()
                await maintainPeriodically()
                await trimming
            }
        }
        return address
    }

    /// Serves until graceful shutdown is requested, then drains and closes.
    public func run() async throws {
        if !isStarted.withLockedValue({ $0 }) {
            _ = try await start()
        }
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Every `purgeInterval`, until cancelled: purges the records past their retention,
    /// removes expired upload sessions, and tells patients about grants expiring within a week.
    private func maintainPeriodically() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.purgeInterval)
                let run = try await purge.runDue()
                if run.purged > 0 { logger.notice("purge", metadata: ["records": "\(run.purged)"]) }
                let swept = try await store.sweepExpiredUploads(at: Date())
                if swept > 0 { logger.info("expired uploads removed", metadata: ["uploads": "\(swept)"]) }
                let notified = try await notifications.noticeExpiringGrants(try await store.patientIDs())
                if notified > 0 { logger.info("expiring grants notified", metadata: ["grants": "\(notified)"]) }
                let pruned = try backups.pruneKeyStoreBackups(now: Date())
                if pruned > 0 { logger.notice("key-store backups past their retention deleted", metadata: ["backups": "\(pruned)"]) }
            } catch is CancellationError {
                return
            } catch {
                logger.error("maintenance failed", metadata: ["error": "\(String(describing: type(of: error)))"])
            }
        }
    }

    /// Every 10 s while no request is in flight, gives the memory glibc keeps after a burst back
    /// to the system (malloc_trim): resident memory returns near its baseline once a load stops
    /// (BENCHMARKS.md, soak).
    private func returnMemoryWhenIdle() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(10)) } catch { return }
            if transport.budget.inUse == 0 { MemoryTrim.trim() }
        }
    }

    /// Drains calls and closes everything; idempotent enough for tests.
    public func shutdown() async {
        servingState.markNotServing("draining")
        if let task = maintenance.withLockedValue({ $0 }) {
            task.cancel()
            await task.value
        }
        // After a failed start there is nothing to drain, and "stopped" would read as a
        // graceful end: the caller has logged why it could not start.
        let started = isStarted.withLockedValue { $0 }
        if started { logger.info("shutting down: draining calls") }
        await transport.shutdown()
        if let channel = metricsChannel.withLockedValue({ $0 }) { try? await channel.close() }
        store.close()
        try? await group.shutdownGracefully()
        if started { logger.info("stopped") }
    }
}

/// Start-up failed; the message says why (never contains health data).
public struct ServerStartupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// glibc's `malloc_trim`: returns free heap memory to the system (looked up at run time: it is
/// not in Swift's Glibc module). Elsewhere, nothing.
enum MemoryTrim {
    private typealias Trim = @convention(c) (Int) -> Int32
    private static let function: Trim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    static func trim() { _ = function?(0) }
}
