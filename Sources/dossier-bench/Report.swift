import Foundation

/// Latencies of one operation over the measured window, and how to print them.
struct Measurement: Sendable {
    var latenciesMicros: [Double] = []
    var errors = 0
    /// Calls answered RESOURCE_EXHAUSTED SERVER_BUSY (not executed; the worker waited and went on).
    var busy = 0
    var bytesPerCall = 0

    mutating func merge(_ other: Measurement) {
        latenciesMicros += other.latenciesMicros
        errors += other.errors
        busy += other.busy
        bytesPerCall = max(bytesPerCall, other.bytesPerCall)
    }

    static func micros(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }
}

/// Prints one human line and one JSON line per operation (and a total line for mixes).
struct Report {
    let setting: [String: String]

    func print(_ name: String, _ measurement: Measurement, seconds: Double, unit: String = "calls") {
        let sorted = measurement.latenciesMicros.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        let rate = Double(sorted.count) / seconds
        let megabytes = rate * Double(measurement.bytesPerCall) / 1e6
        var line = String(
            format: "%@: %.0f %@/s, latency µs p50 %.0f p90 %.0f p99 %.0f max %.0f",
            name, rate, unit, percentile(0.5), percentile(0.9), percentile(0.99), sorted.last ?? 0)
        if measurement.bytesPerCall > 0 { line += String(format: ", %.1f MB/s", megabytes) }
        if measurement.errors > 0 { line += ", \(measurement.errors) errors" }
        if measurement.busy > 0 { line += ", \(measurement.busy) busy" }
        Swift.print(line)
        var fields: [(String, String)] = [("operation", quoted(name))]
        fields += setting.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        fields += [
            ("\(unit)_per_s", "\(Int(rate))"), ("mb_per_s", String(format: "%.1f", megabytes)),
            ("p50_us", "\(Int(percentile(0.5)))"), ("p90_us", "\(Int(percentile(0.9)))"),
            ("p99_us", "\(Int(percentile(0.99)))"), ("max_us", "\(Int(sorted.last ?? 0))"),
            ("count", "\(sorted.count)"), ("errors", "\(measurement.errors)"), ("busy", "\(measurement.busy)"),
        ]
        Swift.print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }

    func quoted(_ text: String) -> String { "\"\(text)\"" }
}
