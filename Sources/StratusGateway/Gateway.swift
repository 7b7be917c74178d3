import Foundation
public import Hummingbird
public import Logging
import StratusImages
import StratusInference
import StratusInvoker
import StratusModel
import StratusProcess
public import StratusQueue
public import StratusStore
import StratusPostgres
import StratusWasm
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// The composition root: opens the store, restores deployed functions, wires the routes.
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    /// SQLite in the data directory, or a cluster's PostgreSQL.
    public let store: any StratusStorage
    /// Keeps this node in step with the others and its heartbeat going.
    let sync: ClusterSync
    let invoker: Invoker
    let logs: LogService
    let processes: ProcessRuntime
    let secretFiles: SecretFiles
    let sites: SiteDirectory
    let layers: LayerDirectory
    /// Turns deployments and stored specs into checked plans.
    let planner: DeployPlanner
    /// Async invocations: stored, run by workers, retried, delivered.
    public let queue: AsyncQueue
    let timers: TimerScheduler
    let metrics = GatewayMetrics()
    let logger: Logger
    /// Basic-auth credentials, `nil` when auth is off.
    public let credentials: Credentials?
    /// HTTP/1.1, over TLS when a certificate and key are configured.
    let server: HTTPServerBuilder
    /// Function calls running now, server-wide (`--max-inflight`).
    let inflight: InflightLimiter
    /// Deploys, removals and cluster reconciles, one at a time.
    let managementGate = SerialGate()
    /// Whether the gateway serves HTTPS.
    public var usesTLS: Bool { configuration.tlsCertificateChain != nil }

    public init(configuration: GatewayConfiguration, credentials: Credentials?, logger: Logger) async throws {
        var configuration = configuration
        let nodeName = configuration.nodeName ?? Self.defaultNodeName(port: configuration.port)
        configuration.nodeName = nodeName
        configuration.queue.node = nodeName
        self.credentials = configuration.authEnabled ? credentials : nil
        self.logger = logger
        let tls = try Self.tlsConfiguration(configuration)
        store = try await Self.openStore(configuration, logger: logger)
        if store.isShared {
            // Another node's notification wakes the dispatcher; the timer only heals a missed one.
            configuration.queue.idleRecheck = max(configuration.queue.idleRecheck, 5)
        }
        self.configuration = configuration
        let sandbox = Sandbox.detect(hiding: [configuration.dataDirectory])
        var bundles = configuration.dataDirectory.appendingPathComponent("bundles")
        if sandbox == nil, getuid() == 0, !Self.othersCanReach(configuration.dataDirectory) {
            // Without the sandbox, functions run as the function user straight from the bundle's
            // folder: one it cannot reach (a data directory under root's 0700 home) would fail every
            // call. Bundles go under /var/lib/stratus instead, where that user can read them.
            bundles = URL(fileURLWithPath: "/var/lib/stratus/bundles").appendingPathComponent(configuration.dataDirectory.standardizedFileURL.path)
            logger.notice("process bundles are unpacked in \(bundles.path): without bubblewrap the function user cannot reach the data directory")
        }
        do {
            try FileManager.default.createDirectory(at: bundles, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw GatewayStartError(message: "cannot create the bundle folder \(bundles.path): \(error.localizedDescription)")
        }
        if sandbox == nil {
            logger.warning("bubblewrap (bwrap) is not available: process functions run unsandboxed and cannot see secrets (apt-get install bubblewrap)")
        }
        var user = FunctionUser.nobody
        if let text = configuration.functionUser {
            do { user = try FunctionUser(parsing: text) } catch { throw GatewayStartError(message: "--function-user: \(error)") }
        }
        processes = ProcessRuntime(bundleDirectory: bundles, sandbox: sandbox, user: user, launcher: configuration.launcherBinary)
        if processes.user == nil {
            logger.warning("the server does not run as root: process functions run as its own user (\(getuid()))")
        } else if configuration.functionUser != nil || sandbox == nil {
            logger.info("process functions run as user \(user)")
        }
        sites = try SiteDirectory(root: configuration.dataDirectory.appendingPathComponent("sites"), store: store)
        layers = try LayerDirectory(root: configuration.dataDirectory.appendingPathComponent("layers"), store: store)
        secretFiles = SecretFiles(root: configuration.dataDirectory.appendingPathComponent("run"))
        logs = LogService(store: store, logger: logger, node: nodeName, shared: store.isShared)
        var inference: (any InferenceBackend)?
        if let library = ONNXRuntimeBackend.findLibrary() {
            do {
                let backend = try ONNXRuntimeBackend(libraryPath: library, intraOpThreads: configuration.inferenceThreads,
                                                      allowSpinning: configuration.inferenceSpinning)
                inference = TimedInferenceBackend(backend: backend, metrics: metrics)
                logger.info("inference engine ready", metadata: [
                    "engine": "\(backend.name)", "library": "\(library)", "threads": "\(configuration.inferenceThreads)",
                    "spinning": "\(configuration.inferenceSpinning)",
                ])
            } catch {
                logger.warning("inference engine unavailable: \(error)")
            }
        } else {
            logger.notice("no inference engine: WASI-NN functions cannot run models (make setup-models, or set STRATUS_ONNXRUNTIME)")
        }
        let wasm: WasmRuntime
        do {
            wasm = try WasmRuntime(engine: configuration.wasmEngine, wasmtimeLibrary: configuration.wasmtimeLibrary,
                                   cache: CompiledCodeStore(store: store, logger: logger), logger: logger)
        } catch {
            throw GatewayStartError(message: "--wasm-engine wasmtime: \(error)")
        }
        if wasm.defaultEngine == .wasmtime {
            logger.info("Wasm functions run on Wasmtime (compiled)", metadata: ["version": "\(wasm.wasmtimeVersion ?? "?")"])
        } else if configuration.wasmEngine == .wasmkit {
            logger.info("Wasm functions run on WasmKit (interpreted), as --wasm-engine asks")
        } else {
            logger.notice("Wasm functions run on WasmKit (interpreted): \(wasm.wasmtimeUnavailable ?? "Wasmtime is unavailable")")
        }
        // Container images: pulled with skopeo, unpacked with umoci, run under runc (all from Debian).
        var images: ImageStore?
        var containers: Containers?
        let tools = ["/usr/bin/skopeo", "/usr/bin/umoci", Containers.findRunc()]
        if tools.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) {
            do {
                images = try ImageStore(root: configuration.dataDirectory.appendingPathComponent("images"),
                                        insecureRegistries: Set(configuration.insecureRegistries))
                let made = try Containers(root: configuration.dataDirectory.appendingPathComponent("containers"))
                let left = made.deleteLeftovers()
                if left > 0 { logger.notice("deleted \(left) container(s) a previous run left behind") }
                containers = made
            } catch {
                logger.warning("container images cannot run: \(error)")
            }
        } else {
            logger.info("container images are off: they need skopeo, umoci and runc (apt-get install skopeo umoci runc)")
        }
        let factory = FunctionFactory(wasm: wasm, processes: processes, inference: inference, logSink: logs,
                                      responseLimit: configuration.maxResponseBytes, containers: containers)
        invoker = Invoker(factory: factory, logger: logger, observer: metrics)
        inflight = InflightLimiter(limit: configuration.maxInflight)
        server = try Self.serverBuilder(tls: tls, direct: DirectCalls(invoker: invoker, inflight: inflight, maxRequestBytes: configuration.maxRequestBytes))
        planner = DeployPlanner(store: store, layers: layers, secretFiles: secretFiles, processSecrets: sandbox?.providesSecrets == true,
                                images: images)
        queue = AsyncQueue(store: store, invoker: invoker, configuration: configuration.queue, logger: logger)
        timers = TimerScheduler(store: store, invoker: invoker, queue: queue, node: nodeName, logger: logger)
        let scheme = tls == nil ? "http" : "https"
        let node = NodeRecord(id: nodeName, address: configuration.nodeAddress ?? "\(scheme)://\(configuration.host):\(configuration.port)",
                          version: configuration.version, startedAt: Date(), heartbeatAt: Date(), functions: 0, inflight: 0)
        let secretFolders = secretFiles, followers = logs, timers = timers
        sync = ClusterSync(store: store, invoker: invoker, planner: planner, gate: managementGate, sites: sites, queue: queue, logger: logger,
                           node: node, interval: configuration.reconcileInterval, inflight: inflight,
                           onRemoved: { name in
                               secretFolders.remove(name)
                               followers.endFollowers(of: name)
                           },
                           onChanged: { timers.wake() })
    }

    /// The embedded SQLite store in the data directory, or PostgreSQL when `--store` names it.
    static func openStore(_ configuration: GatewayConfiguration, logger: Logger) async throws -> any StratusStorage {
        guard let url = configuration.clusterStoreURL else {
            do { return try SQLiteStore(directory: configuration.dataDirectory, keyFile: configuration.secretKeyFile) } catch {
                throw GatewayStartError(message: "cannot open the store: \(error)")
            }
        }
        guard let keyFile = configuration.secretKeyFile else {
            throw GatewayStartError(message: """
                --store \(PostgresURL.redacted(url)) needs --secret-key-file: every node of a cluster seals secrets with the same 32-byte key \
                (make one with: head -c 32 /dev/urandom > stratus.key; chmod 600 stratus.key)
                """)
        }
        do {
            let store = try await PostgresStore.open(url: url, cacheDirectory: configuration.dataDirectory.appendingPathComponent("artifact-cache"),
                                                     keyFile: keyFile, logger: logger)
            logger.info("cluster store ready", metadata: ["store": "\(PostgresURL.redacted(url))"])
            return store
        } catch {
            throw GatewayStartError(message: "cannot open the store \(PostgresURL.redacted(url)): \(error)")
        }
    }

    /// The host name, and the port when one was asked for.
    static func defaultNodeName(port: Int) -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "stratus"
        return port == 0 ? "\(host)-\(getpid())" : "\(host)-\(port)"
    }

    /// Deploys every stored function into the runtime and unpacks every stored site; one that
    /// fails is logged and skipped.
    public func restoreFunctions() async throws {
        try await sites.restore(logger: logger)
        // Functions, then their published versions (each runs beside the function), then the aliases.
        for spec in try await store.functions() + store.allVersions().map(\.spec) {
            do {
                // Replicas start in the background: a slow one must not hold up the server.
                try await invoker.deploy(try await planner.plan(spec), waitUntilReady: false)
            } catch {
                logger.error("cannot restore function", metadata: ["function": "\(spec.name)", "error": "\(error)"])
            }
        }
        invoker.setAliases(try await store.allAliases())
        await sync.markRestored()
    }

    /// Stops function replicas and writes buffered logs: call once the server has stopped serving.
    public func shutdown() async {
        await invoker.stopAll()
        await logs.flush()
        // Last: the logs above go to the cluster's database.
        (store as? PostgresStore)?.close()
    }

    /// The router with every endpoint; `/system/*` behind basic auth when enabled.
    public func buildRouter() -> Router<StratusRequestContext> {
        let secretFiles = secretFiles
        let dependencies = Dependencies(registry: store, versions: store, artifacts: store, logStore: store, secrets: store, namespaces: store, cluster: sync,
                                        invoker: invoker, configuration: configuration, logger: logger,
                                        planner: planner, removeSecretsFolder: { name in secretFiles.remove(name) },
                                        endLogFollowers: { [logs] name in logs.endFollowers(of: name) }, sites: sites, layers: layers,
                                        metrics: metrics, inflight: inflight, managementGate: managementGate, timers: timers)
        let router = Router(context: StratusRequestContext.self)
        router.add(middleware: CallIDMiddleware())
        let system = SystemHandlers(dependencies: dependencies)
        system.registerPublic(on: router)
        let ui = UIHandlers(dependencies: dependencies, store: store)
        ui.registerPublic(on: router)
        let metrics = metrics, invoker = invoker, queue = queue, store = store
        // In a cluster every sample says which node it is from (each pod is scraped on its own).
        let metricsNode = store.isShared ? sync.node.id : nil
        router.get("metrics") { _, _ in
            let functions = (try? await store.functions()) ?? []
            let counts = (try? await store.queueCounts()) ?? [:]
            let text = metrics.render(functions: functions, invoker: invoker, queue: queue, counts: counts, node: metricsNode)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        InvokeHandler(dependencies: dependencies).register(on: router)
        let asyncHandlers = AsyncHandlers(dependencies: dependencies, queue: queue, store: store)
        asyncHandlers.register(on: router)
        let siteHandlers = SiteHandlers(dependencies: dependencies, sites: sites)
        let layerHandlers = LayerHandlers(dependencies: dependencies, layers: layers)
        siteHandlers.registerPublic(on: router)
        let group = router.group("system")
        if let credentials {
            group.add(middleware: BasicAuthMiddleware(credentials: credentials))
        }
        system.register(on: group)
        let functionHandlers = FunctionHandlers(dependencies: dependencies)
        functionHandlers.register(on: group)
        StoreHandlers(dependencies: dependencies, functions: functionHandlers).register(on: group)
        ui.register(on: group)
        ArtifactHandlers(dependencies: dependencies).register(on: group)
        LogHandler(dependencies: dependencies, logs: logs, store: store).register(on: group)
        SecretHandlers(dependencies: dependencies, secrets: store).register(on: group)
        NamespaceHandlers(dependencies: dependencies).register(on: group)
        siteHandlers.register(on: group)
        layerHandlers.register(on: group)
        asyncHandlers.register(on: group)
        VersionHandlers(dependencies: dependencies, versions: store, timers: timers).register(on: group)
        return router
    }

    /// Serves until the process is told to stop (SIGINT, SIGTERM): HTTP, the async queue, the log
    /// writer and the autoscaler in one service group, shut down gracefully; then every function's
    /// replicas stop (calls in flight finish first) and buffered logs are written, also when serving failed.
    public func serve(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        do {
            try await buildApplication(onListening: onListening).runService()
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }

    /// The HTTP application, ready to `runService()`; `onListening` gets the bound address.
    public func buildApplication(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "stratus"),
            services: [logs, queue, Autoscaler(invoker: invoker), sync, timers,
                       ImageCollector(images: planner.images, registry: store, grace: configuration.imageGCAfter, logger: logger)],
            onServerRunning: { [sync, usesTLS] channel in
                let address = channel.localAddress
                let host = address?.ipAddress ?? configuration.host, port = address?.port ?? configuration.port
                if configuration.nodeAddress == nil { sync.listening(at: "\(usesTLS ? "https" : "http")://\(host):\(port)") }
                onListening(host, port)
            },
            logger: logger)
    }
}

extension Gateway {
    /// The TLS configuration from the configured PEM certificate chain and key (both or neither); `nil` for plain HTTP.
    static func tlsConfiguration(_ configuration: GatewayConfiguration) throws -> TLSConfiguration? {
        switch (configuration.tlsCertificateChain, configuration.tlsPrivateKey) {
        case (nil, nil):
            return nil
        case (let certificate?, let key?):
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
                throw GatewayStartError(message: "--tls-cert \(certificate): not a readable PEM certificate chain (\(error))")
            }
            guard !chain.isEmpty else { throw GatewayStartError(message: "--tls-cert \(certificate): no certificate in the file") }
            let privateKey: NIOSSLPrivateKey
            do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
                throw GatewayStartError(message: "--tls-key \(key): not a readable PEM private key (\(error))")
            }
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
            tls.minimumTLSVersion = .tlsv12
            return tls
        default:
            throw GatewayStartError(message: "--tls-cert and --tls-key go together: give both (PEM files) or neither")
        }
    }

    /// Plain HTTP/1.1, or HTTPS with `tls`; each connection's pipeline gets the direct path for calls.
    static func serverBuilder(tls: TLSConfiguration?, direct: DirectCalls) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [direct.handler()]))
        guard let tls else { return http1 }
        do { return try .tls(http1, tlsConfiguration: tls) } catch {
            throw GatewayStartError(message: "--tls-cert/--tls-key: the certificate and key do not work together (\(error))")
        }
    }
}

extension Gateway {
    /// Whether any user can pass through every folder on the way to `directory` (and into it).
    static func othersCanReach(_ directory: URL) -> Bool {
        var path = directory.standardizedFileURL.path
        while true {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IXOTH == 0 { return false }
            if path == "/" || path.isEmpty { return true }
            path = (path as NSString).deletingLastPathComponent
        }
    }
}

/// Why the gateway cannot start; the message says what to fix.
public struct GatewayStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
