// swift-tools-version:6.0
import PackageDescription

// protoc-gen-dossier: a protoc plugin that turns the `service` blocks of proto/ into Swift
// server method tables and client stubs for Dossier's ttrpc layer (see
// Sources/DossierProto/RPCSupport.swift). Built and run by scripts/generate.sh.
//
// swift-protobuf is pinned to the exact version the main package uses: the generated code,
// protoc-gen-swift (built from this same dependency) and the runtime must all agree.
let package = Package(
    name: "protoc-gen-dossier",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "protoc-gen-dossier", targets: ["protoc-gen-dossier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "protoc-gen-dossier",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf"),
            ]
        ),
    ]
)
