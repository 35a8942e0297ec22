import Foundation

/// What dossierd writes before its logger exists: refused settings and usage errors, as text
/// or, with `--log-format json` from a flag, `DOSSIERD_LOG_FORMAT` or the configuration file,
/// as JSON lines like every other line of the process.
enum StartupLog {
    /// Whether JSON was asked for, read the way the settings are (flag, then environment, then
    /// file) but without failing: a bad value is reported by the settings themselves.
    static func wantsJSON(arguments: [String], environment: [String: String]) -> Bool {
        if let flag = value(of: "--log-format", in: arguments) { return flag == "json" }
        if let variable = environment["DOSSIERD_LOG_FORMAT"] { return variable == "json" }
        guard let path = value(of: "--config", in: arguments) ?? environment["DOSSIERD_CONFIG"],
            let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode([String: JSONValue].self, from: data),
            case .string(let format) = file["log-format"]
        else { return false }
        return format == "json"
    }

    private static func value(of option: String, in arguments: [String]) -> String? {
        var found: String?
        for (index, argument) in arguments.enumerated() {
            if argument == option, index + 1 < arguments.count { found = arguments[index + 1] }
            if argument.hasPrefix(option + "=") { found = String(argument.dropFirst(option.count + 1)) }
        }
        return found
    }

    /// Writes each problem as one line on standard error.
    static func critical(_ lines: [String], json: Bool) {
        for line in lines {
            let text = json
                ? JSONLogHandler.line(level: "critical", label: "dossierd", message: line, metadata: [:])
                : "error: \(line)\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// The Swift runtime reads `SWIFT_BACKTRACE` once, at process start: to get its crash
    /// report as one JSON object rather than text, dossierd restarts itself once with
    /// `format=json` added (unless a format is set already). The runtime's one-line banner
    /// before the report (`*** Signal 4: Backtracing …`) stays text.
    static func useJSONCrashReports() {
        let current = ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] ?? ""
        guard !current.contains("format=") else { return }
        setenv("SWIFT_BACKTRACE", current.isEmpty ? "format=json" : current + ",format=json", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // exec failed (no /proc): carry on with text crash reports.
        for argument in arguments { free(argument) }
    }
}
