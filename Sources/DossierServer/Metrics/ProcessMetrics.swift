import Foundation

/// The standard `process_*` series of Prometheus client libraries, read from Linux's /proc at
/// each scrape: CPU time, resident and virtual memory, open and allowed file descriptors, and
/// the start time. Elsewhere (no /proc) the series are left out.
enum ProcessMetrics {
    struct Figures: Equatable {
        var cpuSeconds: Double
        var residentBytes: UInt64
        var virtualBytes: UInt64
        var openFileDescriptors: Int
        var maxFileDescriptors: UInt64?
        var startTimeSeconds: Double
    }

    static func read() -> Figures? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "pid (comm)", numbered from 3 (state) as in proc(5).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double? { number - 3 < fields.count ? Double(fields[number - 3]) : nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        guard ticks > 0, let user = field(14), let system = field(15), let started = field(22), let virtual = field(23),
            let resident = field(24), let bootTime = Self.bootTime()
        else { return nil }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        let maxDescriptors = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? UInt64(limit.rlim_cur) : nil
        return Figures(
            cpuSeconds: (user + system) / ticks, residentBytes: UInt64(resident) * pageSize, virtualBytes: UInt64(virtual),
            openFileDescriptors: descriptors, maxFileDescriptors: maxDescriptors,
            startTimeSeconds: bootTime + started / ticks)
    }

    /// Seconds since the epoch at which the machine booted (`btime` of /proc/stat).
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func render(into text: inout String) {
        guard let figures = read() else { return }
        func series(_ name: String, _ type: String, _ help: String, _ value: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        series("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", "\(figures.cpuSeconds)")
        series("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", "\(figures.residentBytes)")
        series("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", "\(figures.virtualBytes)")
        series("process_open_fds", "gauge", "Number of open file descriptors.", "\(figures.openFileDescriptors)")
        if let max = figures.maxFileDescriptors {
            series("process_max_fds", "gauge", "Maximum number of open file descriptors.", "\(max)")
        }
        series(
            "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
            "\(figures.startTimeSeconds)")
    }
}
