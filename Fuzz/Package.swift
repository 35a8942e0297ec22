// swift-tools-version: 6.0
// libFuzzer harnesses, kept out of the main package so that a normal build never links them.
// `make fuzz` builds them with -sanitize=fuzzer,address (see Fuzz/README.md).
import PackageDescription

let package = Package(
    name: "DossierFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Dossier", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzFrames",
            dependencies: [
                .product(name: "DossierWire", package: "Dossier"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzRequests",
            dependencies: [
                .product(name: "DossierServer", package: "Dossier"),
                .product(name: "DossierWire", package: "Dossier"),
            ]
        ),
    ]
)
