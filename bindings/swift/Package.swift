// swift-tools-version:5.9
// The Swift package of the partysocket bindings. Not built on the machines that build
// the Rust crate (they have no Swift toolchain); see ../README.md.
//
// Targets:
// - CPartySocketFFI: the generated C header and module map of the Rust library;
// - PartySocketFFI: the generated Swift bindings;
// - PartySocket: the idiomatic layer (events as an AsyncStream), re-exporting the
//   generated API.
//
// The Rust library is linked from `PARTYSOCKET_FFI_LIB` (a `libpartysocket_ffi.a`),
// by default the workspace's debug build: run `cargo build -p partysocket-ffi` first.
// For iOS, replace CPartySocketFFI with the XCFramework as ../README.md describes.
import Foundation
import PackageDescription

let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let rustLibrary = ProcessInfo.processInfo.environment["PARTYSOCKET_FFI_LIB"]
    ?? packageDirectory.appendingPathComponent("../../target/debug/libpartysocket_ffi.a").standardized.path

let package = Package(
    name: "PartySocket",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "PartySocket", targets: ["PartySocket"]),
    ],
    targets: [
        .target(
            name: "CPartySocketFFI",
            path: "Sources/CPartySocketFFI",
            linkerSettings: [
                .unsafeFlags([rustLibrary]),
                .linkedLibrary("m", .when(platforms: [.linux])),
                .linkedLibrary("dl", .when(platforms: [.linux])),
                .linkedLibrary("pthread", .when(platforms: [.linux])),
            ]
        ),
        .target(
            name: "PartySocketFFI",
            dependencies: ["CPartySocketFFI"],
            path: "Sources/PartySocketFFI"
        ),
        .target(
            name: "PartySocket",
            dependencies: ["PartySocketFFI"],
            path: "Sources/PartySocket"
        ),
        .testTarget(
            name: "PartySocketTests",
            dependencies: ["PartySocket"],
            path: "Tests/PartySocketTests"
        ),
    ]
)
