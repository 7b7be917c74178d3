public import Foundation
public import StratusModel
public import StratusQueue

/// Settings of `stratus serve`.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Where the database, artifacts and credentials live.
    public var dataDirectory: URL
    /// Largest request body accepted, in bytes (413 above it).
    public var maxRequestBytes: Int
    /// Largest artifact upload accepted, in bytes.
    public var maxArtifactBytes: Int
    /// Basic auth on `/system/*`; `false` only for local experiments.
    public var authEnabled: Bool
    public var version: String
    /// The commit the server was built from, for `/system/info`.
    public var commit = "unknown"
    /// Who process functions run as (`NAME`, `UID`, `NAME:GROUP`, `UID:GID`); `nil` means `nobody`.
    /// Only a server running as root can switch users.
    public var functionUser: String?
    /// ONNX Runtime threads per model for work inside an operator (0: ONNX Runtime's default, one per core).
    public var inferenceThreads: Int = 1
    /// The `stratus-launcher` binary classic replicas run (`stratus serve` gives the one beside it);
    /// `nil`: every classic call is spawned by the server itself.
    public var launcherBinary: String?
    /// Let ONNX Runtime's pool threads spin between operators (lower latency alone, wasted CPU when busy).
    public var inferenceSpinning: Bool = false
    /// Calls running at once, all functions together; more get 503 with Retry-After.
    public var maxInflight = 1024
    /// Seconds a followed log (`/system/logs?follow=true`) stays open before the server ends it,
    /// as OpenFaaS's gateway ends one at its write timeout (65 s in its chart).
    public var logFollowSeconds: Double = 65
    /// Largest response a function may give (its stdout, or what a bootstrap posts); larger ones fail the call.
    public var maxResponseBytes = 64 * 1024 * 1024
    /// PEM files of the certificate chain and private key: with both, the gateway speaks HTTPS only.
    public var tlsCertificateChain: String?
    public var tlsPrivateKey: String?
    /// Async workers, callback retries.
    public var queue = AsyncQueue.Configuration()
    /// Where shared state lives: `nil` for the embedded SQLite in the data directory, or a
    /// `postgres://` URL for a cluster (every node names the same database).
    public var storeURL: String?
    /// The cluster database's URL: `storeURL` unless it is empty or `sqlite` (the embedded store).
    public var clusterStoreURL: String? { Self.clusterStoreURL(storeURL) }

    /// `url` when it names a cluster's database; nil for none, empty or `sqlite`.
    public static func clusterStoreURL(_ url: String?) -> String? { url.flatMap { $0.isEmpty || $0 == "sqlite" ? nil : $0 } }
    /// The 32-byte key secrets are sealed with; every node of a cluster needs the same one. `nil`:
    /// `<data>/secret.key`, generated on first use (the embedded store only).
    public var secretKeyFile: String?
    /// This node's name in `/system/nodes`, log lines, claims and metrics (default: host name and port).
    public var nodeName: String?
    /// Where this node is reached, as listed by `/system/nodes` (default: http://HOST:PORT as bound).
    public var nodeAddress: String?
    /// Seconds between a node's heartbeats and between its checks of the change counter (a missed
    /// notification heals within this).
    public var reconcileInterval: Double = 2
    /// The engine Wasm functions run on unless they ask for another (`com.stratus.wasm.engine`):
    /// `nil` picks Wasmtime when its library is found, else WasmKit.
    public var wasmEngine: WasmEngineKind?
    /// Where Wasmtime's library is (default: `STRATUS_WASMTIME`, else `.cache/wasmtime/lib/libwasmtime.so`).
    public var wasmtimeLibrary: String?
    /// Seconds a pulled container image stays once no function runs it (`--image-gc-after`).
    public var imageGCAfter: Double = 600
    /// Registries (`HOST:PORT`) images may be pulled from over plain HTTP (`--insecure-registry`).
    public var insecureRegistries: [String] = []
    /// Whether `POST /system/artifacts?kind=compiled` loads code compiled elsewhere (`--trust-precompiled`).
    public var trustPrecompiled = false

    public init(host: String = "127.0.0.1", port: Int = 8080, dataDirectory: URL, maxRequestBytes: Int = 16 * 1024 * 1024, maxArtifactBytes: Int = 128 * 1024 * 1024, authEnabled: Bool = true, version: String = "0.2.0", functionUser: String? = nil) {
        self.functionUser = functionUser
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.maxRequestBytes = maxRequestBytes
        self.maxArtifactBytes = maxArtifactBytes
        self.authEnabled = authEnabled
        self.version = version
    }
}
