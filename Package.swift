// swift-tools-version:6.0
import PackageDescription

// Layers (see docs/ARCHITECTURE.md); dependencies point inward:
// dossierd ─► DossierServer ─► DossierTransport ─► DossierWire ─► DossierProto
//                  ├─► DossierFHIR (FHIR R4 export format) ─► DossierCore
//                  ├─► DossierCore (pure domain)
//                  └─► DossierStore ─► RocksDB ─► CRocksDB (system librocksdb)
// dossierd ─► DossierPostgres ─► DossierStore (the PostgreSQL engine, on postgres-nio)
// dossier (CLI) ─► DossierClient ─► DossierTransport, DossierWire, DossierProto
let package = Package(
    name: "Dossier",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dossierd", targets: ["dossierd"]),
        .executable(name: "dossier", targets: ["dossier"]),
        .executable(name: "dossier-bench", targets: ["dossier-bench"]),
        .library(name: "DossierClient", targets: ["DossierClient"]),
        // For the fuzz harnesses (Fuzz/Package.swift).
        .library(name: "DossierWire", targets: ["DossierWire"]),
        .library(name: "DossierServer", targets: ["DossierServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        // Storage: the system RocksDB and its Swift wrapper.
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .target(name: "RocksDB", dependencies: ["CRocksDB"]),

        // The domain: plain Swift, no NIO, protobuf or RocksDB.
        .target(name: "DossierCore"),

        // The record's export in HL7 FHIR R4 (JSON, the ZIP around it) and its reading back.
        .target(name: "DossierFHIR", dependencies: ["DossierCore"]),

        // The API contract: generated from proto/ (see `make generate`).
        .target(
            name: "DossierProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/GENERATED.sha256"]
        ),

        // ttrpc framing and per-connection state machines (no sockets).
        .target(
            name: "DossierWire",
            dependencies: [
                "DossierProto",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // Records, documents, grants and the access log on RocksDB.
        .target(
            name: "DossierStore",
            dependencies: [
                "DossierCore", "RocksDB",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Generated/GENERATED.sha256"]
        ),

        // The second storage engine: the families as tables on PostgreSQL (decision 0009).
        .target(
            name: "DossierPostgres",
            dependencies: [
                "DossierStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        // Sockets, TLS and certificates.
        .target(
            name: "DossierTransport",
            dependencies: [
                "DossierWire", "DossierProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),

        // RPC handlers: proto <-> domain, authorization, the access log.
        .target(
            name: "DossierServer",
            dependencies: [
                "DossierCore", "DossierFHIR", "DossierStore", "DossierTransport", "DossierWire", "DossierProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        .target(
            name: "DossierClient",
            dependencies: [
                "DossierTransport", "DossierWire", "DossierProto",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        .executableTarget(
            name: "dossierd",
            dependencies: [
                "DossierServer", "DossierPostgres", "DossierCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The CLI's commands; the `dossier` executable, and `dossierd` invoked as `dossier`.
        .target(
            name: "DossierCLI",
            dependencies: [
                "DossierClient", "DossierCore", "DossierFHIR",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "dossier", dependencies: ["DossierCLI"]),

        // The load generator (BENCHMARKS.md).
        .executableTarget(
            name: "dossier-bench",
            dependencies: [
                "DossierClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Test support: an in-process PKI and a running server on port 0.
        .target(
            name: "DossierTestSupport",
            dependencies: [
                "DossierServer", "DossierClient", "DossierStore", "DossierCore", "DossierPostgres",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/DossierTestSupport"
        ),
        // The C client for professional software (clients/c, also built by its own Makefile).
        .target(
            name: "CDossierClient",
            path: "clients/c",
            exclude: ["examples", "tests", "Makefile", "README.md", "dossier-client.pc.in", "generated/GENERATED.sha256"],
            sources: ["src", "generated"],
            publicHeadersPath: "include",
            cSettings: [.headerSearchPath("generated")],
            linkerSettings: [.linkedLibrary("protobuf-c"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        .target(
            name: "CDossierClientShim",
            dependencies: ["CDossierClient"],
            path: "Tests/CDossierClientShim",
            cSettings: [.headerSearchPath("../../clients/c/generated")]
        ),
        .testTarget(
            name: "CClientTests",
            dependencies: ["CDossierClient", "CDossierClientShim", "DossierTestSupport", "DossierClient", "DossierServer"]
        ),
        .testTarget(name: "RocksDBTests", dependencies: ["RocksDB"]),
        .testTarget(
            name: "DossierdTests",
            dependencies: [
                "dossierd", "DossierServer", "DossierClient", "DossierTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(name: "DossierCoreTests", dependencies: ["DossierCore"]),
        .testTarget(name: "DossierFHIRTests", dependencies: ["DossierFHIR", "DossierCore"]),
        .testTarget(name: "DossierWireTests", dependencies: ["DossierWire"]),
        .testTarget(name: "DossierStoreTests", dependencies: ["DossierStore", "DossierTestSupport"]),
        // Runs against a live server only when DOSSIER_TEST_POSTGRES_URL is set
        // (scripts/postgres-cluster.sh starts one).
        .testTarget(name: "DossierPostgresTests", dependencies: ["DossierPostgres", "DossierStore"]),
        .testTarget(
            name: "DossierServerTests",
            dependencies: [
                "DossierServer", "DossierClient", "DossierTestSupport", "DossierStore", "DossierCore", "DossierFHIR", "RocksDB",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
