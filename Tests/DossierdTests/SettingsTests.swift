import Foundation
import Testing

@testable import dossierd

/// Every setting, every source, every kind of absurd value: refused with a message naming the
/// setting and where the value came from; nothing in range can trap later.
@Suite struct SettingsTests {
    /// Text values (flags, variables) that no setting of this kind accepts.
    static func badTexts(_ kind: SettingKind) -> [String] {
        switch kind {
        case .text, .path: [""]
        case .optionalPath, .optionalText: []
        case .boolean: ["yes", "1", "TRUE", ""]
        case .choice: ["verbose", "", "JSON"]
        case .integer(let range, _):
            ["abc", "", "1.5", "1e300", "inf", "nan", "-inf", "\(range.lowerBound - 1)", "\(range.upperBound + 1)",
             "99999999999999999999999"]
        case .number(let range, _):
            ["abc", "", "1e300", "inf", "-inf", "nan", "\(range.lowerBound - 1)", "\(range.upperBound * 2 + 1)"]
        }
    }

    /// JSON values of the configuration file that no setting of this kind accepts.
    static func badJSON(_ kind: SettingKind) -> [JSONValue] {
        switch kind {
        case .text, .path: [.integer(1), .boolean(true), .null, .array, .object, .string("")]
        case .optionalPath, .optionalText: [.integer(1), .boolean(false), .array, .object]
        case .boolean: [.integer(1), .integer(0), .string("true"), .null, .array]
        case .choice: [.integer(1), .boolean(true), .string("nope"), .null]
        case .integer(let range, _):
            [.boolean(true), .boolean(false), .string("5"), .number(1.5), .number(1e300), .null, .array, .object,
             .integer(range.lowerBound - 1), .integer(range.upperBound + 1)]
        case .number(let range, _):
            [.boolean(true), .string("5"), .number(1e300), .null, .array, .number(range.upperBound * 2 + 1),
             .number(range.lowerBound - 1)]
        }
    }

    /// Values every setting of this kind accepts, with what they mean.
    static func goodTexts(_ kind: SettingKind) -> [(String, SettingValue)] {
        switch kind {
        case .text, .path: [("/some/where", .text("/some/where"))]
        case .optionalPath, .optionalText: [("", .none), ("/some/file", .text("/some/file"))]
        case .boolean: [("true", .boolean(true)), ("false", .boolean(false))]
        case .choice(let words): words.map { ($0, .text($0)) }
        case .integer(let range, _): [("\(range.lowerBound)", .integer(range.lowerBound)), ("\(range.upperBound)", .integer(range.upperBound))]
        case .number(let range, _):
            [("\(range.lowerBound)", .number(range.lowerBound)), ("\(range.upperBound)", .number(range.upperBound))]
        }
    }

    func refusal(flags: [String: String] = [:], environment: [String: String] = [:], file: [String: JSONValue] = [:]) -> [String]? {
        do {
            _ = try Settings(flags: flags, environment: environment, file: file, configFile: "dossierd.json")
            return nil
        } catch let error as SettingsError {
            return error.problems
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test(arguments: SettingsCatalog.all.map(\.name))
    func badValuesAreRefusedFromEverySource(name: String) {
        let setting = SettingsCatalog.setting(name)
        for bad in Self.badTexts(setting.kind) {
            // The flag --allow-tls12 carries no value; its variable and file key do.
            if case .boolean = setting.kind {} else {
                let problems = refusal(flags: [name: bad])
                #expect(problems?.count == 1 && problems![0].hasPrefix("\(name) (flag --\(name)) must "), "flag \(name)=\(bad): \(problems ?? [])")
            }
            let problems = refusal(environment: [setting.variable: bad])
            #expect(
                problems?.count == 1 && problems![0].hasPrefix("\(name) (environment \(setting.variable)) must "),
                "\(setting.variable)=\(bad): \(problems ?? [])")
        }
        for bad in Self.badJSON(setting.kind) {
            let problems = refusal(file: [name: bad])
            #expect(
                problems?.count == 1 && problems![0].hasPrefix("\(name) (file dossierd.json) must "),
                "file \(name)=\(bad.kindName): \(problems ?? [])")
        }
    }

    @Test(arguments: SettingsCatalog.all.map(\.name))
    func goodValuesAreTakenWithTheirSource(name: String) throws {
        let setting = SettingsCatalog.setting(name)
        for (text, value) in Self.goodTexts(setting.kind) {
            let fromEnvironment = try Settings(flags: [:], environment: [setting.variable: text], file: [:], configFile: nil)
            #expect(fromEnvironment.values[name] == value)
            #expect(fromEnvironment.sources[name] == "environment")
        }
        let defaults = try Settings(flags: [:], environment: [:], file: [:], configFile: nil)
        #expect(defaults.values[name] == setting.fallback)
        #expect(defaults.sources[name] == "default")
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheFile() throws {
        let settings = try Settings(
            flags: ["port": "1"], environment: ["DOSSIERD_PORT": "2", "DOSSIERD_IDLE_TIMEOUT": "7"],
            file: ["port": .integer(3), "idle-timeout": .integer(8), "drain-timeout": .number(2.5)], configFile: "f")
        #expect(settings.port == 1 && settings.sources["port"] == "flag")
        #expect(settings.idleTimeout == 7 && settings.sources["idle-timeout"] == "environment")
        #expect(settings.drainTimeout == 2.5 && settings.sources["drain-timeout"] == "file")
    }

    @Test func unknownVariablesAreRefusedAndEveryProblemIsNamed() {
        let problems = refusal(environment: ["DOSSIERD_MASTERKEY": "/k", "DOSSIERD_PORT": "x", "DOSSIERD_CONFIG": "/f", "OTHER": "1"])
        #expect(problems?.count == 2)
        #expect(problems?.contains("DOSSIERD_MASTERKEY (environment) is not a setting of dossierd") == true)
    }

    @Test func theFileKeepsJSONTypes() throws {
        let data = Data(#"{"port": 7444, "allow-tls12": true, "drain-timeout": 1, "crl": null}"#.utf8)
        let file = try JSONDecoder().decode([String: JSONValue].self, from: data)
        let settings = try Settings(flags: [:], environment: [:], file: file, configFile: "f")
        #expect(settings.port == 7444 && settings.allowTLS12 && settings.drainTimeout == 1 && settings.crl == nil)
        let wrong = try JSONDecoder().decode([String: JSONValue].self, from: Data(#"{"port": true, "allow-tls12": 1}"#.utf8))
        #expect(refusal(file: wrong)?.count == 2)
    }

    /// The purge deletes the access log with the record: a retention under three years
    /// (EHDS Art. 9(2)) is refused.
    @Test func retentionIsAtLeastThreeYears() {
        let problems = refusal(environment: ["DOSSIERD_RETENTION_DAYS": "1094"])
        #expect(problems?.count == 1 && problems?.first?.contains("DOSSIERD_RETENTION_DAYS") == true)
        #expect(refusal(flags: ["retention-days": "1095"]) == nil)
    }

    /// Every numeric setting at both ends of its range makes a server configuration (the
    /// conversions to durations, seconds and byte counts happen there) without trapping.
    @Test func extremesMakeAConfiguration() throws {
        let key = FileManager.default.temporaryDirectory.appendingPathComponent("dossierd-test-key-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(
            atPath: key, contents: Data(String(repeating: "ab", count: 32).utf8), attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(atPath: key) }
        for end in [0, 1] {
            var environment: [String: String] = ["DOSSIERD_MASTER_KEY": key, "DOSSIERD_LOG_SIGNING_KEY": key]
            for setting in SettingsCatalog.all {
                switch setting.kind {
                case .integer(let range, _): environment[setting.variable] = "\(end == 0 ? range.lowerBound : range.upperBound)"
                case .number(let range, _): environment[setting.variable] = "\(end == 0 ? range.lowerBound : range.upperBound)"
                default: break
                }
            }
            let configuration = try Settings(flags: [:], environment: environment, file: [:], configFile: nil).serverConfiguration()
            #expect(configuration.policy.retentionPeriod >= 0)
        }
    }

    /// docs/OPERATIONS.md's settings table and the catalog list the same settings.
    @Test func theOperatorsGuideListsEverySetting() throws {
        let guide = try String(contentsOf: Self.repository.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        let rows = guide.split(separator: "\n").filter { $0.hasPrefix("| `--") }
        let documented = Set(rows.flatMap { row in
            row.split(separator: "|")[0].split(separator: ",").compactMap { cell -> String? in
                let name = cell.trimmingCharacters(in: CharacterSet(charactersIn: " `"))
                return name.hasPrefix("--") ? String(name.dropFirst(2)) : nil
            }
        })
        let expected = SettingsCatalog.names.union(["config"])
        #expect(documented.subtracting(expected).isEmpty, "documented but not settings: \(documented.subtracting(expected).sorted())")
        #expect(expected.subtracting(documented).isEmpty, "settings missing from OPERATIONS.md: \(expected.subtracting(documented).sorted())")
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
