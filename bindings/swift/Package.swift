// swift-tools-version:5.9
// The Swift package of the partysocket bindings. `cargo xtask test bindings` builds and
// tests it on Linux (Swift 6 in a Debian trixie root); see ../README.md.
//
// Targets:
// - CPartySocketFFI: the generated C header and module map of the Rust library;
// - PartySocketFFI: the generated Swift bindings;
// - PartySocket: the idiomatic layer (events as a bounded AsyncSequence), re-exporting the
//   generated API.
//
// The Rust library is linked from `PARTYSOCKET_FFI_LIB`, by default the workspace's
// debug static library (`cargo build -p partysocket-ffi` first). It may name the shared
// library (`libpartysocket_ffi.so`) instead, found at run time through an rpath: a Swift
// toolchain whose LLVM is older than Rust's cannot read the bitcode in the static
// library's standard-library objects (its `autolink-extract` step fails), and Linux
// toolchains are. For iOS, replace CPartySocketFFI with the XCFramework as ../README.md
// describes.
import Foundation
import PackageDescription

let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let rustLibrary = ProcessInfo.processInfo.environment["PARTYSOCKET_FFI_LIB"]
    ?? packageDirectory.appendingPathComponent("../../target/debug/libpartysocket_ffi.a").standardized.path
var rustLinkerFlags = [rustLibrary]
if rustLibrary.hasSuffix(".so") || rustLibrary.hasSuffix(".dylib") {
    let directory = URL(fileURLWithPath: rustLibrary).deletingLastPathComponent().path
    rustLinkerFlags += ["-Xlinker", "-rpath", "-Xlinker", directory]
}

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
                .unsafeFlags(rustLinkerFlags),
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
