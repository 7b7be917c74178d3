// swift-tools-version: 6.3
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Stratus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stratus", targets: ["stratus"]),
        .executable(name: "stratus-launcher", targets: ["stratus-launcher"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swiftwasm/WasmKit", exact: "0.4.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .plugin(name: "CommitPlugin", capability: .buildTool()),
        .target(name: "StratusBuildInfo", plugins: ["CommitPlugin"]),
        // Shared domain types: function specs, names, digests, OpenFaaS wire types.
        .target(name: "StratusModel", swiftSettings: strict),
        // Function registry and content-addressed artifacts (SQLite through GRDB).
        .target(
            name: "StratusStore",
            dependencies: [
                "StratusModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The cluster store: the same store protocols on PostgreSQL (PostgresNIO), with a disk cache of artifacts per node.
        .target(
            name: "StratusPostgres",
            dependencies: [
                "StratusModel",
                "StratusStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // JPEG/PNG decoding and tensor preprocessing for the image host calls (Debian's libjpeg-turbo, libpng).
        .target(name: "CStratusImage", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png")]),
        // Wasmtime's C API, opened at run time with dlopen (own declarations, no link-time dependency).
        .target(name: "CStratusWasmtime", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // WebAssembly runtime: two engines (Wasmtime compiling, WasmKit interpreting) behind one
        // interface; module cache, instance pool, the WASI preview1, WASI-NN and image hosts.
        .target(
            name: "StratusWasm",
            dependencies: [
                "StratusModel",
                "CStratusImage",
                "CStratusWasmtime",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmParser", package: "WasmKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Process runtime: classic-watchdog functions (a process group per request) and http-mode replicas behind a proxy.
        .target(name: "CStratusSys"),
        // gzip'd tar archives (bundles, layers, sites): checked and unpacked atomically with /bin/tar.
        .target(name: "StratusArchive", swiftSettings: strict),
        .target(
            name: "StratusProcess",
            dependencies: [
                "StratusModel",
                "StratusArchive",
                "CStratusSys",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Container images: pulled from OCI registries (skopeo), pinned by digest, unpacked once per digest (umoci).
        .target(name: "StratusImages", dependencies: ["StratusModel"], swiftSettings: strict),
        // ONNX Runtime's C API, opened at run time with dlopen (no headers, no link-time dependency).
        .target(name: "CStratusORT", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // Inference backends behind StratusModel's InferenceBackend: ONNX Runtime (CPU).
        .target(name: "StratusInference", dependencies: ["StratusModel", "CStratusORT"], swiftSettings: strict),
        // Routes invocations to runtimes; deployed-function table, limits, stats.
        .target(
            name: "StratusInvoker",
            dependencies: [
                "StratusModel",
                "StratusWasm",
                "StratusProcess",
                "StratusImages",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Async invocations: stored, run by workers, retried, delivered to callbacks.
        .target(
            name: "StratusQueue",
            dependencies: [
                "StratusModel",
                "StratusInvoker",
                "StratusStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // HTTP gateway (Hummingbird 2): OpenFaaS API, /function, auth.
        .target(
            name: "StratusGateway",
            dependencies: [
                "StratusModel",
                "StratusInvoker",
                "StratusQueue",
                "StratusStore",
                "StratusPostgres",
                "StratusInference",
                "StratusProcess",
                "StratusWasm",
                "StratusTemplates",
                "StratusArchive",
                "StratusImages",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The web UI and the API description (a link to docs/openapi.yaml), compiled in as bytes.
            resources: [.embedInCode("Resources/ui"), .embedInCode("Resources/openapi.yaml")],
            swiftSettings: strict
        ),
        // stack.yml (OpenFaaS format) parsing with file/line errors.
        .target(
            name: "StratusStack",
            dependencies: ["StratusModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Built-in function templates and the Wasm build recipes. The templates' files and the guest SDK
        // are real files under Resources/ (never compiled here), compiled in as bytes.
        .target(
            name: "StratusTemplates",
            resources: [.embedInCode("Resources/templates"), .embedInCode("Resources/sdk")],
            swiftSettings: strict
        ),
        // The command-line client and the `serve` command.
        .target(
            name: "StratusCLI",
            dependencies: [
                "StratusModel",
                "StratusBuildInfo",
                "StratusStack",
                "StratusTemplates",
                "StratusGateway",
                "StratusWasm",
                "StratusImages",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "stratus", dependencies: ["StratusCLI"], swiftSettings: strict),
        // A classic replica's launcher: started once per replica inside the sandbox, it forks the
        // function's process for each call. C, linked statically, so that a layer at /opt (where the
        // Swift runtime's libraries live) cannot hide what it loads; installed beside `stratus`.
        .executableTarget(name: "stratus-launcher", dependencies: ["CStratusSys"], path: "Sources/StratusLauncher",
                          linkerSettings: [.unsafeFlags(["-static-executable"])]),
        // `make bench`: per-call cost of fresh vs. pooled instances inside the runtime.
        .executableTarget(
            name: "stratus-runtime-bench", dependencies: ["StratusWasm", "StratusModel"], path: "bench/RuntimeBench",
            swiftSettings: strict),

        // `make bench`: the inference backend called directly (decode + preprocess + ONNX Runtime).
        .executableTarget(
            name: "stratus-inference-bench", dependencies: ["StratusInference", "StratusWasm", "StratusModel"], path: "bench/InferenceBench",
            swiftSettings: strict),

        .testTarget(name: "StratusModelTests", dependencies: ["StratusModel"]),
        .testTarget(name: "StratusStoreTests", dependencies: ["StratusStore", "StratusPostgres", "StratusTestSupport",
                                                             .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StratusInferenceTests", dependencies: ["StratusInference", "StratusModel"], swiftSettings: strict),
        // Test support only: compiles guest fixtures, starts servers. Never linked into the binary.
        .target(name: "StratusTestSupport", path: "Sources/StratusTestSupport"),
        .testTarget(
            name: "StratusWasmTests",
            dependencies: ["StratusWasm", "StratusTestSupport", .product(name: "WAT", package: "WasmKit")]
        ),
        .testTarget(name: "StratusStackTests", dependencies: ["StratusStack"]),
        .testTarget(name: "StratusProcessTests", dependencies: ["StratusProcess"]),
        // The invoker's shared parts (routing, admission, scaling, call log) driven through fake functions.
        .testTarget(
            name: "StratusInvokerTests",
            dependencies: ["StratusInvoker", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "StratusArchiveTests", dependencies: ["StratusArchive", "StratusTestSupport"]),
        .testTarget(name: "StratusTemplatesTests", dependencies: ["StratusTemplates"]),
        .testTarget(
            name: "StratusGatewayTests",
            dependencies: [
                "StratusGateway",
                "StratusTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "StratusIntegrationTests",
            dependencies: [
                "StratusModel",
                "StratusWasm",
                "StratusTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ]
)
