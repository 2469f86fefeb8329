// swift-tools-version:6.0
import PackageDescription

// Layers, imports pointing one way:
//   CMicroHTTPD, CIPCLab  (C at the bottom: libmicrohttpd and the small shim)
//   IPCLabCore            (scenarios, traces, the catalog; no C, no HTTP)
//   IPCLabSandbox         (namespaces, the spawner, participants, the event ring)
//   IPCLabStore           (stored runs and grades: SQLite through GRDB or PostgreSQL through libpq,
//                          traces compressed by LZ4)
//   IPCLabHTTP            (the only code that touches MHD_*)
//   ipclab                (the executable that wires them)
/// The Swift runtime and Foundation linked into an executable statically (`ipclab`, `ipclab-sandbox`).
/// lld: the static Foundation archives refer to each other (and to ICU) in circles, which lld resolves
/// in any order and GNU ld only inside --start-group.
let staticSwiftRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-use-ld=lld"], .when(platforms: [.linux])),
    .linkedLibrary("_FoundationICU", .when(platforms: [.linux])),
    .linkedLibrary("CoreFoundation", .when(platforms: [.linux])),
    .linkedLibrary("_FoundationCShims", .when(platforms: [.linux])),
    .linkedLibrary("_FoundationCollections", .when(platforms: [.linux])),
    .linkedLibrary("stdc++", .when(platforms: [.linux])),
]

let package = Package(
    name: "ipclab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ipclab", targets: ["ipclab"]),
        .executable(name: "ipclab-sandbox", targets: ["ipclab-sandbox"]),
        // The tracer of students' C programs: LD_PRELOADed into each program (README, "C programs").
        .library(name: "IPCLabTrace", type: .dynamic, targets: ["CIPCLabTrace"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .target(
            name: "CIPCLab",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("rt"), .linkedLibrary("z")]
        ),
        // The interposer (C only, no dependency: it is loaded into a student's program, not into ipclab).
        .target(name: "CIPCLabTrace", cSettings: [.define("_GNU_SOURCE"), .headerSearchPath("../CIPCLab/include")], linkerSettings: [.linkedLibrary("dl"), .unsafeFlags(["-nostartfiles"])]),
        .target(name: "IPCLabCore"),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLibLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .target(
            name: "IPCLabStore",
            dependencies: [
                "CIPCLab", "CLibLZ4", "CLibPQ", "IPCLabCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "IPCLabSandbox",
            dependencies: [
                "CIPCLab", "IPCLabCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "IPCLabHTTP",
            dependencies: [
                "CMicroHTTPD", "CIPCLab", "IPCLabCore", "IPCLabSandbox", "IPCLabStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ipclab",
            dependencies: [
                "CIPCLab", "IPCLabCore", "IPCLabSandbox", "IPCLabStore", "IPCLabHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // A command starts in ~9 ms instead of ~15 (ld.so no longer binds 19,000 symbols against 17
            // shared libraries), and the server's calls into the runtime (every retain and release) skip
            // the PLT (README, "Runners").
            linkerSettings: staticSwiftRuntime
        ),
        // The spawner's and runners' own image (runs are forks of it): the sandbox code alone, with the
        // Swift runtime and Foundation linked in statically, so a fork, its page faults and its exit
        // walk ~10 mappings instead of ~170 (README, "Runners").
        .executableTarget(
            name: "ipclab-sandbox",
            dependencies: ["IPCLabSandbox"],
            exclude: ["readonly-rodata.ld"],
            linkerSettings: [
                // Segments at 2-MiB boundaries: the runner can then put all of its text on huge pages
                // (CodePages, README "Runners"), not only the part between the first and last boundary.
                .unsafeFlags(["-Xlinker", "-z", "-Xlinker", "max-page-size=0x200000",
                              "-Xlinker", "-z", "-Xlinker", "separate-loadable-segments",
                              // Read-only data in the read-only segment, which fork does not copy: the
                              // compiler's few writable sections named .rodata go to .data.rel.ro instead
                              // of making the whole merged .rodata writable (the script says why).
                              "-Xlinker", "-T", "-Xlinker", Context.packageDirectory + "/Sources/ipclab-sandbox/readonly-rodata.ld"],
                             .when(platforms: [.linux])),
            ] + staticSwiftRuntime
        ),
        .testTarget(name: "IPCLabCoreTests", dependencies: ["IPCLabCore"]),
        .testTarget(
            name: "IPCLabSandboxTests",
            dependencies: ["IPCLabSandbox", "IPCLabCore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "IPCLabStoreTests", dependencies: ["IPCLabStore", "IPCLabCore"]),
        .testTarget(
            name: "IPCLabHTTPTests",
            dependencies: ["IPCLabHTTP", "IPCLabCore", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
