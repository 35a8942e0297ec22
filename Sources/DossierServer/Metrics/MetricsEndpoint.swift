import DossierStore
import DossierTransport
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The Prometheus text endpoint: plain HTTP, `GET /metrics`, on its own port (loopback by
/// default). Everything else is 404. It exposes counts and sizes only, never identifiers.
final class MetricsEndpoint: Sendable {
    let calls: CallMetrics
    let transport: @Sendable () -> (open: Int, counters: TransportCounters.Snapshot)
    let store: DossierStore
    let inflight: @Sendable () -> (bytes: Int, waiting: Int, limit: Int)

    init(
        calls: CallMetrics, transport: @escaping @Sendable () -> (open: Int, counters: TransportCounters.Snapshot), store: DossierStore,
        inflight: @escaping @Sendable () -> (bytes: Int, waiting: Int, limit: Int)
    ) {
        self.calls = calls
        self.transport = transport
        self.store = store
        self.inflight = inflight
    }

    /// Binds and serves until the channel is closed; returns the listening channel.
    func start(host: String, port: Int, group: any EventLoopGroup) async throws -> any Channel {
        let endpoint = self
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHTTPHandler(endpoint: endpoint))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// The whole exposition.
    func render() -> String {
        var text = ""
        calls.render(into: &text)
        let (open, counters) = transport()
        let (inflightBytes, admissionsWaiting, inflightLimit) = inflight()
        text += "# HELP dossier_inflight_budget_bytes The in-flight budget (--max-inflight-bytes).\n"
        text += "# TYPE dossier_inflight_budget_bytes gauge\ndossier_inflight_budget_bytes \(inflightLimit)\n"
        text += "# HELP dossier_inflight_bytes Bytes of requests admitted and not yet answered (the in-flight budget in use).\n"
        text += "# TYPE dossier_inflight_bytes gauge\ndossier_inflight_bytes \(inflightBytes)\n"
        text += "# HELP dossier_admissions_waiting Requests read but waiting for room in the in-flight budget.\n"
        text += "# TYPE dossier_admissions_waiting gauge\ndossier_admissions_waiting \(admissionsWaiting)\n"
        text += "# HELP dossier_connections_open Client connections open now.\n# TYPE dossier_connections_open gauge\n"
        text += "dossier_connections_open \(open)\n"
        text += "# HELP dossier_connections_accepted_total Connections accepted.\n# TYPE dossier_connections_accepted_total counter\n"
        text += "dossier_connections_accepted_total \(counters.accepted)\n"
        text += "# HELP dossier_connections_refused_total Connections closed at accept: the connection limit was reached.\n"
        text += "# TYPE dossier_connections_refused_total counter\ndossier_connections_refused_total \(counters.refusedAtLimit)\n"
        text += "# HELP dossier_handshakes_total TLS handshakes by outcome: ok, or the reason it failed.\n"
        text += "# TYPE dossier_handshakes_total counter\n"
        text += "dossier_handshakes_total{outcome=\"ok\"} \(counters.handshakesCompleted)\n"
        for (reason, count) in counters.handshakeFailures.sorted(by: { $0.key < $1.key }) {
            text += "dossier_handshakes_total{outcome=\"\(reason)\"} \(count)\n"
        }
        text += "# HELP dossier_handshake_failures_total TLS handshakes that failed or timed out, by reason.\n"
        text += "# TYPE dossier_handshake_failures_total counter\n"
        for (reason, count) in counters.handshakeFailures.sorted(by: { $0.key < $1.key }) {
            text += "dossier_handshake_failures_total{reason=\"\(reason)\"} \(count)\n"
        }
        let storeCounts = store.counters.snapshot
        text += "# HELP dossier_access_log_appends_total Access-log entries written.\n# TYPE dossier_access_log_appends_total counter\n"
        text += "dossier_access_log_appends_total \(storeCounts.accessLogAppends)\n"
        text += "# HELP dossier_refusal_log_write_retries_total Refusals' log entries written after the answer (PostgreSQL) tried again after a failure.\n"
        text += "# TYPE dossier_refusal_log_write_retries_total counter\n"
        text += "dossier_refusal_log_write_retries_total \(storeCounts.deferredWriteRetries)\n"
        text += "# HELP dossier_refusal_log_writes_lost_total Refusals' log entries given up after 10 s of failures: missing from the record's log.\n"
        text += "# TYPE dossier_refusal_log_writes_lost_total counter\n"
        text += "dossier_refusal_log_writes_lost_total \(storeCounts.deferredWritesLost)\n"
        text += "# HELP dossier_write_batch_operations Operations per synced write batch (one per call that writes).\n"
        text += "# TYPE dossier_write_batch_operations histogram\n"
        var cumulative: UInt64 = 0
        for bound in StoreCounters.batchBuckets {
            cumulative += storeCounts.batchOperations[bound] ?? 0
            text += "dossier_write_batch_operations_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "dossier_write_batch_operations_bucket{le=\"+Inf\"} \(storeCounts.syncedBatches)\n"
        text += "dossier_write_batch_operations_sum \(storeCounts.batchOperationsSum)\n"
        text += "dossier_write_batch_operations_count \(storeCounts.syncedBatches)\n"
        for figure in store.storageFigures() {
            text += "# HELP \(figure.name) \(figure.help)\n# TYPE \(figure.name) gauge\n\(figure.name) \(figure.value)\n"
        }
        ProcessMetrics.render(into: &text)
        return text
    }
}

private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoint: MetricsEndpoint
    private var head: HTTPRequestHead?

    init(endpoint: MetricsEndpoint) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let found = request.method == .GET && (request.uri == "/metrics" || request.uri.hasPrefix("/metrics?"))
            let body = found ? endpoint.render() : "not found: GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            let keepAlive = request.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}
