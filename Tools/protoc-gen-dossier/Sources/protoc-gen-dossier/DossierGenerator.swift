// protoc-gen-dossier: generates Dossier's ttrpc service glue from the `service` blocks of
// proto/. Messages themselves come from protoc-gen-swift; this plugin only emits, per .proto
// file with services, a `<path_with_underscores>.dossier.swift` file (method names, a server
// protocol with its method table, a client stub), plus one catalog file listing every
// service and method of package `dossier.v1`.
//
// The generated code relies on the hand-written types of Sources/DossierProto/RPCSupport.swift
// (RPCMethodName, RPCServerMethod, RPCPayloadDecodingError, RPCCallOptions, RPCUnaryTransport),
// which live in the same module as the generated files.

import Foundation
import SwiftProtobuf
import SwiftProtobufPluginLibrary

@main
struct DossierGenerator: CodeGenerator {
    var supportedFeatures: [Google_Protobuf_Compiler_CodeGeneratorResponse.Feature] {
        [.proto3Optional]
    }

    var version: String? { "1.0 (swift-protobuf \(SwiftProtobuf.Version.versionString))" }

    var projectURL: String? { nil }

    func printHelp() {
        print(
            """
            protoc-gen-dossier: a protoc plugin generating Dossier's ttrpc service glue.

            Usage: protoc --plugin=protoc-gen-dossier=PATH --dossier_out=DIR [--dossier_opt=OPTS] FILES...

            Options (comma-separated in --dossier_opt):
              Catalog=true|false       emit dossier_services.dossier.swift (default true)
              CatalogPackage=PKG       proto package listed in the catalog (default dossier.v1)

            Unary rpcs only: streaming rpcs make generation fail.
            """
        )
    }

    func generate(
        files: [FileDescriptor],
        parameter: any CodeGeneratorParameter,
        protoCompilerContext: any ProtoCompilerContext,
        generatorOutputs: any GeneratorOutputs
    ) throws {
        let options = try Options(parameter)
        let namer = SwiftProtobufNamer()
        var catalog: [ServiceModel] = []
        var typeNames = TypeNameRegistry(files: files, namer: namer)

        // Generate in a stable order whatever order protoc was given the files in.
        for file in files.sorted(by: { $0.name < $1.name }) {
            guard !file.services.isEmpty else { continue }
            let services = try file.services.map { try ServiceModel($0, namer: namer) }
            try typeNames.claim(services)
            let source = FileEmitter(file: file, services: services).render()
            try generatorOutputs.add(fileName: outputName(for: file), contents: source)
            if file.package == options.catalogPackage {
                catalog.append(contentsOf: services)
            }
        }

        if options.catalog {
            let source = CatalogEmitter(
                package: options.catalogPackage,
                services: catalog,
                files: files.filter { $0.package == options.catalogPackage && !$0.services.isEmpty }
                    .map(\.name).sorted()
            ).render()
            try generatorOutputs.add(fileName: "dossier_services.dossier.swift", contents: source)
        }
    }
}

// MARK: - Options

struct Options {
    var catalog = true
    var catalogPackage = "dossier.v1"

    init(_ parameter: any CodeGeneratorParameter) throws {
        for (key, value) in parameter.parsedPairs {
            switch key {
            case "Catalog":
                guard let flag = Bool(value) else {
                    throw GenerationError("invalid value '\(value)' for option Catalog (true or false)")
                }
                catalog = flag
            case "CatalogPackage":
                guard !value.isEmpty else {
                    throw GenerationError("option CatalogPackage needs a proto package name")
                }
                catalogPackage = value
            default:
                throw GenerationError("unknown option '\(key)' (known: Catalog, CatalogPackage)")
            }
        }
    }
}

struct GenerationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `dossier/v1/records.proto` → `dossier_v1_records.dossier.swift`.
func outputName(for file: FileDescriptor) -> String {
    var base = file.name
    if base.hasSuffix(".proto") { base.removeLast(".proto".count) }
    return base.replacingOccurrences(of: "/", with: "_") + ".dossier.swift"
}

// MARK: - Model

/// Every Swift name the emitters need for one service, computed (and validated) up front.
struct ServiceModel {
    struct Method {
        /// The rpc name as written in the proto (what ttrpc puts on the wire).
        let protoName: String
        /// lowerCamelCase Swift identifier, backticked when it is a keyword.
        let swiftName: String
        let requestType: String
        let responseType: String
        let comments: String
    }

    /// Fully-qualified proto name, e.g. `dossier.v1.Records`.
    let fullName: String
    let protoFile: String
    /// `Dossier_V1_Records`: the namespace enum; the protocol and client derive from it.
    let namespace: String
    let comments: String
    let methods: [Method]

    var protocolName: String { namespace + "Service" }
    var clientName: String { namespace + "Client" }

    /// Names this service's generated code declares at module scope.
    var declaredTypeNames: [String] { [namespace, protocolName, clientName] }

    init(_ service: ServiceDescriptor, namer: SwiftProtobufNamer) throws {
        fullName = service.fullName
        protoFile = service.file.name
        namespace = namer.typePrefix(forFile: service.file) + service.name
        comments = service.protoSourceCommentsWithDeprecation()

        // Members the generated code declares next to the rpc names.
        let reservedInMethodEnum: Set<String> = ["all"]
        let reservedInProtocol: Set<String> = ["serverMethods"]
        let reservedInClient: Set<String> = ["transport", "init"]

        var seen: [String: String] = [:]
        var methods: [Method] = []
        for method in service.methods {
            if method.clientStreaming || method.serverStreaming {
                let kind =
                    method.clientStreaming && method.serverStreaming
                    ? "bidirectional streaming"
                    : method.clientStreaming ? "client streaming" : "server streaming"
                throw GenerationError(
                    "\(service.file.name): rpc \(method.fullName) is \(kind); "
                        + "protoc-gen-dossier (and Dossier's ttrpc layer) only supports unary rpcs"
                )
            }
            let bare = NamingUtils.toLowerCamelCase(method.name)
            guard isValidSwiftIdentifier(bare) else {
                throw GenerationError(
                    "\(service.file.name): rpc \(method.fullName) does not map to a Swift identifier ('\(bare)')"
                )
            }
            if let other = seen[bare] {
                throw GenerationError(
                    "\(service.file.name): rpcs \(other) and \(method.name) of \(service.fullName) "
                        + "both map to the Swift name '\(bare)'; rename one"
                )
            }
            if reservedInMethodEnum.contains(bare) || reservedInProtocol.contains(bare)
                || reservedInClient.contains(bare)
            {
                throw GenerationError(
                    "\(service.file.name): rpc \(method.fullName) maps to '\(bare)', which the generated "
                        + "code already uses; rename the rpc"
                )
            }
            seen[bare] = method.name
            methods.append(
                Method(
                    protoName: method.name,
                    swiftName: swiftIdentifier(bare),
                    requestType: namer.fullName(message: method.inputType),
                    responseType: namer.fullName(message: method.outputType),
                    comments: method.protoSourceCommentsWithDeprecation()
                )
            )
        }
        self.methods = methods
    }
}

/// Swift keywords (and names with special meaning as members) that need backticks.
private let swiftReservedWords: Set<String> = swiftKeywordsUsedInDeclarations
    .union(swiftKeywordsUsedInStatements)
    .union(swiftKeywordsUsedInExpressionsAndTypes)
    .union(["Type", "Protocol", "await", "async", "some", "any", "borrowing", "consuming", "_"])

func swiftIdentifier(_ name: String) -> String {
    swiftReservedWords.contains(name) ? "`\(name)`" : name
}

/// The namespace enum, protocol and client of each service must not clash with a message or
/// enum that protoc-gen-swift generates into the same module (from any file of the request or
/// their imports), nor with another service's.
struct TypeNameRegistry {
    private var taken: [String: String] = [:]

    init(files: [FileDescriptor], namer: SwiftProtobufNamer) {
        var visited: Set<String> = []
        var taken: [String: String] = [:]
        func collect(_ f: FileDescriptor) {
            guard visited.insert(f.name).inserted else { return }
            for message in f.messages { taken[namer.relativeName(message: message)] = "message \(message.fullName)" }
            for e in f.enums { taken[namer.relativeName(enum: e)] = "enum \(e.fullName)" }
            for dep in f.dependencies { collect(dep) }
        }
        files.forEach(collect)
        self.taken = taken
    }

    mutating func claim(_ services: [ServiceModel]) throws {
        for service in services {
            for name in service.declaredTypeNames {
                if let owner = taken[name] {
                    throw GenerationError(
                        "\(service.protoFile): service \(service.fullName) would generate Swift type \(name), "
                            + "which clashes with \(owner); rename one of them"
                    )
                }
                taken[name] = "service \(service.fullName)"
            }
        }
    }
}

// MARK: - Emitters

struct FileEmitter {
    let file: FileDescriptor
    let services: [ServiceModel]

    /// Whether a public signature mentions a SwiftProtobuf type (a well-known type message).
    var exposesRuntimeTypes: Bool {
        services.contains { service in
            service.methods.contains { method in
                [method.requestType, method.responseType].contains { $0.hasPrefix("SwiftProtobuf.") }
            }
        }
    }

    func render() -> String {
        var p = CodePrinter(indent: "    ".unicodeScalars, addNewlines: true)
        p.print(
            "// DO NOT EDIT. Generated by protoc-gen-dossier from \(file.name).",
            "// Source of truth: proto/\(file.name); regenerate with `make generate`.",
            "",
            // Plain imports, like protoc-gen-swift's files of the same module (mixing them
            // with `internal import` is an error); `public import` only where a signature
            // needs it, as an unused `public import` warns.
            "import Foundation",
            exposesRuntimeTypes ? "public import SwiftProtobuf" : "import SwiftProtobuf",
            ""
        )
        for (index, service) in services.enumerated() {
            if index > 0 { p.print("") }
            emit(service, &p)
        }
        return p.content
    }

    private func emit(_ s: ServiceModel, _ p: inout CodePrinter) {
        // Namespace: service and method names.
        p.print("// MARK: - \(s.fullName)", "")
        printComments(s.comments, &p)
        p.print("public enum \(s.namespace) {")
        p.withIndentation { p in
            p.print("public static let serviceName = \(stringLiteral(s.fullName))", "")
            p.print("public enum Method {")
            p.withIndentation { p in
                for m in s.methods {
                    printComments(m.comments, &p)
                    p.print(
                        "public static let \(m.swiftName) = RPCMethodName(service: \(stringLiteral(s.fullName)), method: \(stringLiteral(m.protoName)))"
                    )
                }
                p.print(
                    "",
                    "/// Every method of `\(s.fullName)`, in declaration order.",
                    "public static let all: [RPCMethodName] = [\(s.methods.map(\.swiftName).joined(separator: ", "))]"
                )
            }
            p.print("}")
        }
        p.print("}", "")

        // Server side.
        p.print(
            "/// Implement to serve `\(s.fullName)`.",
            "public protocol \(s.protocolName)<Context>: Sendable {"
        )
        p.withIndentation { p in
            p.print("associatedtype Context: Sendable")
            for m in s.methods {
                printComments(m.comments, &p)
                p.print(
                    "func \(m.swiftName)(_ request: \(m.requestType), context: Context) async throws -> \(m.responseType)"
                )
            }
        }
        p.print("}", "")

        p.print("extension \(s.protocolName) {")
        p.withIndentation { p in
            p.print(
                "/// This service's method table for a ttrpc dispatcher.",
                "public var serverMethods: [RPCServerMethod<Context>] {"
            )
            p.withIndentation { p in
                if s.methods.isEmpty {
                    p.print("[]")
                } else {
                    p.print("[")
                    p.withIndentation { p in
                        for m in s.methods {
                            let name = "\(s.namespace).Method.\(m.swiftName)"
                            p.print("RPCServerMethod(name: \(name)) { payload, context in")
                            p.withIndentation { p in
                                p.print(
                                    "let request: \(m.requestType)",
                                    "do { request = try \(m.requestType)(serializedBytes: payload) }",
                                    "catch { throw RPCPayloadDecodingError(method: \(name), reason: String(describing: error)) }",
                                    "return try await self.\(m.swiftName)(request, context: context).serializedBytes()"
                                )
                            }
                            p.print("},")
                        }
                    }
                    p.print("]")
                }
            }
            p.print("}")
        }
        p.print("}", "")

        // Client side.
        p.print(
            "/// Client stub for `\(s.fullName)`.",
            "public struct \(s.clientName)<Transport: RPCUnaryTransport>: Sendable {"
        )
        p.withIndentation { p in
            p.print(
                "public let transport: Transport",
                "",
                "public init(_ transport: Transport) { self.transport = transport }"
            )
            for m in s.methods {
                p.print("")
                printComments(m.comments, &p)
                p.print(
                    "public func \(m.swiftName)(_ request: \(m.requestType), options: RPCCallOptions = RPCCallOptions()) async throws -> \(m.responseType) {"
                )
                p.withIndentation { p in
                    p.print(
                        "let response = try await transport.unary(\(s.namespace).Method.\(m.swiftName), payload: try request.serializedBytes(), options: options)",
                        "return try \(m.responseType)(serializedBytes: response)"
                    )
                }
                p.print("}")
            }
        }
        p.print("}")
    }
}

struct CatalogEmitter {
    let package: String
    let services: [ServiceModel]
    let files: [String]

    func render() -> String {
        var p = CodePrinter(indent: "    ".unicodeScalars, addNewlines: true)
        p.print("// DO NOT EDIT. Generated by protoc-gen-dossier from the services of package \(package):")
        for file in files { p.print("//   \(file)") }
        p.print(
            "// Regenerate with `make generate`.",
            "",
            "/// Every service and method of the `\(package)` API, in proto file and declaration order.",
            "public enum DossierAPI {"
        )
        p.withIndentation { p in
            p.print("/// Fully-qualified names of the services.")
            if services.isEmpty {
                p.print("public static let services: [String] = []")
            } else {
                p.print("public static let services: [String] = [")
                p.withIndentation { p in
                    for s in services { p.print("\(s.namespace).serviceName,") }
                }
                p.print("]")
            }
            p.print("", "/// Every method of every service.")
            let withMethods = services.filter { !$0.methods.isEmpty }
            switch withMethods.count {
            case 0:
                p.print("public static let methods: [RPCMethodName] = []")
            case 1:
                p.print("public static let methods: [RPCMethodName] = \(withMethods[0].namespace).Method.all")
            default:
                p.print("public static let methods: [RPCMethodName] = Array([")
                p.withIndentation { p in
                    for s in withMethods { p.print("\(s.namespace).Method.all,") }
                }
                p.print("].joined())")
            }
        }
        p.print("}")
        return p.content
    }
}

// MARK: - Helpers

private func printComments(_ comments: String, _ p: inout CodePrinter) {
    guard !comments.isEmpty else { return }
    // `comments` is already `///`-prefixed, newline-terminated lines; strip trailing blanks.
    for line in comments.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        var text = String(line)
        while text.last == " " || text.last == "\t" { text.removeLast() }
        p.print(text)
    }
}

/// A Swift string literal for a proto identifier (letters, digits, `_` and `.` only).
private func stringLiteral(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
