import Prometheus
import Synchronization

/// Calls by service, method and status, with a latency histogram, and the calls in flight, in a
/// swift-prometheus registry (which `dossierd` also gives swift-metrics, so that what libraries
/// emit is exported too). Labels are method names and status codes only — never principals or
/// patients — and the dispatcher counts names a client sends that are not in the API as
/// `unknown`, so the label sets stay bounded.
public final class CallMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let inFlight: Gauge
    private struct Series {
        let calls: Counter
        let duration: DurationHistogram
    }
    private struct Key: Hashable {
        let service: String
        let method: String
        let code: String
    }
    private let series = Mutex<[Key: Series]>([:])

    /// Upper bounds of the latency buckets.
    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500),
        .seconds(5), .seconds(10),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        inFlight = registry.makeGauge(name: "dossier_calls_in_flight", help: "Calls being handled now.")
        inFlight.set(to: 0)
    }

    func started() { inFlight.increment() }

    func finished(service: String, method: String, code: String, seconds: Double) {
        inFlight.decrement()
        let key = Key(service: service, method: method, code: code)
        let series = self.series.withLock { known in
            if let found = known[key] { return found }
            let labels = [("service", service), ("method", method), ("code", code)]
            let made = Series(
                calls: registry.makeCounter(
                    name: "dossier_calls_total", labels: labels, help: "Calls answered, by service, method and status code."),
                duration: registry.makeDurationHistogram(
                    name: "dossier_call_duration_seconds", labels: labels, buckets: Self.buckets,
                    help: "Time from a request's arrival at the dispatcher to its answer, by status code."))
            known[key] = made
            return made
        }
        series.calls.increment()
        series.duration.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// The Prometheus text exposition of the registry (these series and whatever else was made
    /// in it).
    func render(into text: inout String) {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        text += String(decoding: bytes, as: UTF8.self)
    }
}
