import Foundation
import Synchronization

/// Calls by service, method and status, with a latency histogram, and the calls in flight.
/// Labels are method names and status codes only: never principals or patients.
public final class CallMetrics: Sendable {
    struct Key: Hashable {
        let service: String
        let method: String
    }

    struct Latency {
        var buckets: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    struct LatencyKey: Hashable {
        let service: String
        let method: String
        let code: String
    }

    struct State {
        var calls: [Key: [String: UInt64]] = [:]
        var latencies: [LatencyKey: Latency] = [:]
        var inFlight: Int = 0
    }

    /// Upper bounds in seconds.
    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private let state = Mutex(State())

    public init() {}

    func started() { state.withLock { $0.inFlight += 1 } }

    func finished(service: String, method: String, code: String, seconds: Double) {
        let key = Key(service: service, method: method)
        let latencyKey = LatencyKey(service: service, method: method, code: code)
        state.withLock { state in
            state.inFlight -= 1
            state.calls[key, default: [:]][code, default: 0] += 1
            var latency = state.latencies[latencyKey] ?? Latency(buckets: Array(repeating: 0, count: Self.bounds.count))
            if let index = Self.bounds.firstIndex(where: { seconds <= $0 }) { latency.buckets[index] += 1 }
            latency.sum += seconds
            latency.count += 1
            state.latencies[latencyKey] = latency
        }
    }

    /// The Prometheus text exposition of these series.
    func render(into text: inout String) {
        let state = self.state.withLock { $0 }
        text += "# HELP dossier_calls_total Calls answered, by service, method and status code.\n"
        text += "# TYPE dossier_calls_total counter\n"
        for key in state.calls.keys.sorted(by: { ($0.service, $0.method) < ($1.service, $1.method) }) {
            for (code, count) in state.calls[key]!.sorted(by: { $0.key < $1.key }) {
                text += "dossier_calls_total{service=\"\(key.service)\",method=\"\(key.method)\",code=\"\(code)\"} \(count)\n"
            }
        }
        text += "# HELP dossier_call_duration_seconds Time from a request's arrival at the dispatcher to its answer, by status code.\n"
        text += "# TYPE dossier_call_duration_seconds histogram\n"
        for key in state.latencies.keys.sorted(by: { ($0.service, $0.method, $0.code) < ($1.service, $1.method, $1.code) }) {
            let latency = state.latencies[key]!
            let labels = "service=\"\(key.service)\",method=\"\(key.method)\",code=\"\(key.code)\""
            var cumulative: UInt64 = 0
            for (index, bound) in Self.bounds.enumerated() {
                cumulative += latency.buckets[index]
                text += "dossier_call_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "dossier_call_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(latency.count)\n"
            text += "dossier_call_duration_seconds_sum{\(labels)} \(latency.sum)\n"
            text += "dossier_call_duration_seconds_count{\(labels)} \(latency.count)\n"
        }
        text += "# HELP dossier_calls_in_flight Calls being handled now.\n# TYPE dossier_calls_in_flight gauge\n"
        text += "dossier_calls_in_flight \(state.inFlight)\n"
    }
}
