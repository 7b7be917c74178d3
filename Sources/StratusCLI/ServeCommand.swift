import ArgumentParser
import Foundation
import Logging
import StratusBuildInfo
import StratusGateway
import StratusModel

/// `stratus serve`: runs the gateway and the runtime.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Stratus server: the OpenFaaS-compatible gateway and the WebAssembly runtime.",
        discussion: """
            Data (functions, artifacts, credentials) lives in --data-dir, else $STRATUS_HOME, else ~/.stratus, \
            and survives restarts. On first start, basic-auth credentials for /system/* are generated into \
            <data-dir>/credentials (mode 0600) and printed once. SIGINT/SIGTERM stop the server after in-flight calls finish.
            """)

    @Option(name: .long, help: "Port to listen on, 0 picks a free one (env STRATUS_PORT; default 8080).")
    var port: Int?

    @Option(name: [.customLong("bind"), .customLong("host")], help: "Address to bind (env STRATUS_BIND; default 127.0.0.1).")
    var host: String?

    @Option(name: .customLong("data-dir"), help: "Data directory (default: $STRATUS_HOME or ~/.stratus).")
    var dataDirectory: String?

    @Option(name: .customLong("max-body-size"), help: "Largest request body accepted, e.g. 16Mi; 413 above it (env STRATUS_MAX_BODY_SIZE; default 16Mi).")
    var maxBodySize: String?
    @Option(name: .customLong("max-response-size"),
            help: "Largest response a function may give, e.g. 64Mi; a call with a larger one fails with 500/502 (env STRATUS_MAX_RESPONSE_SIZE; default 64Mi).")
    var maxResponseSize: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: with --tls-key, serve HTTPS only (env STRATUS_TLS_CERT).")
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert (env STRATUS_TLS_KEY).")
    var tlsKey: String?

    @Flag(name: .customLong("no-auth"), help: "Serve /system/* without authentication (local experiments only).")
    var noAuth = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("function-user"),
            help: "User process functions run as when the server runs as root: NAME, UID, NAME:GROUP or UID:GID (env STRATUS_FUNCTION_USER; default nobody).")
    var functionUser: String?

    @Option(name: .customLong("inference-threads"),
            help: "ONNX Runtime threads per model inside an operator; 0 uses one per core (env STRATUS_INFERENCE_THREADS; default 1, measured fastest on a busy 2-core host).")
    var inferenceThreads: Int?

    @Flag(name: .customLong("inference-spinning"),
          help: "Let ONNX Runtime's threads spin between operators: lower latency on an idle machine, wasted CPU on a busy one (env STRATUS_INFERENCE_SPINNING=1).")
    var inferenceSpinning = false

    @Option(name: .customLong("max-inflight"),
            help: "Calls running at once, all functions together; more get 503 with Retry-After (env STRATUS_MAX_INFLIGHT; default 1024).")
    var maxInflight: Int?

    @Option(name: .customLong("log-follow-timeout"),
            help: "How long a followed log (stratus logs -f, faas-cli logs) stays open before the server ends it, e.g. 65s or 10m (env STRATUS_LOG_FOLLOW_TIMEOUT; default 65s, as OpenFaaS's gateway).")
    var logFollowTimeout: String?

    @Option(name: .customLong("queue-workers"), help: "Async calls run at once, all functions together (env STRATUS_QUEUE_WORKERS; default 32).")
    var queueWorkers: Int?

    @Option(name: .customLong("callback-retry-wait"),
            help: "Wait before a failed callback delivery is tried again; doubles each time up to 60s, 10 tries in all (default 1s).")
    var callbackRetryWait: String?

    @Option(name: .customLong("callback-timeout"), help: "A callback that has not answered in this time has failed (default 10s).")
    var callbackTimeout: String?

    @Option(name: .customLong("store"),
            help: "Where shared state lives: 'sqlite' (the embedded database in --data-dir, the default) or postgres://USER:PASSWORD@HOST:PORT/DB for a cluster, every node naming the same database (env STRATUS_STORE, or DATABASE_URL).")
    var store: String?

    @Option(name: .customLong("secret-key-file"),
            help: "The 32-byte key secrets are encrypted with; every node of a cluster needs the same file (env STRATUS_SECRET_KEY_FILE; default <data-dir>/secret.key, generated, embedded store only).")
    var secretKeyFile: String?

    @Option(name: .customLong("credentials-file"),
            help: "The admin credentials for /system/*, JSON {\"user\": …, \"password\": …}; every node of a cluster reads the same file (env STRATUS_CREDENTIALS_FILE; default <data-dir>/credentials, generated on first start).")
    var credentialsFile: String?

    @Option(name: .customLong("node-name"), help: "This node's name in `stratus nodes`, logs and metrics (env STRATUS_NODE_NAME; default HOSTNAME-PORT).")
    var nodeName: String?

    @Option(name: .customLong("node-address"), help: "Where this node is reached, as `stratus nodes` lists it (env STRATUS_NODE_ADDRESS; default http://BIND:PORT).")
    var nodeAddress: String?

    @Option(name: .customLong("queue-lease"),
            help: "How long an async call's claim holds without being renewed; a dead node's calls run elsewhere after it (env STRATUS_QUEUE_LEASE; default 30s).")
    var queueLease: String?

    @Option(name: .customLong("wasm-engine"),
            help: "The engine Wasm functions run on: 'wasmtime' (compiled ahead of time by Cranelift; its library comes from `make setup-models`) or 'wasmkit' (an interpreter in Swift, needs nothing). Default: wasmtime when its library is found, else wasmkit. A function may ask for either with the annotation com.stratus.wasm.engine (env STRATUS_WASM_ENGINE).")
    var wasmEngine: String?

    @Option(name: .customLong("wasmtime-library"),
            help: "Path of Wasmtime's C API library (env STRATUS_WASMTIME; default .cache/wasmtime/lib/libwasmtime.so in the current directory, beside the binary, or above them).")
    var wasmtimeLibrary: String?

    @Option(name: .customLong("insecure-registry"),
            help: "A registry (HOST:PORT) container images may be pulled from over plain HTTP, e.g. a test registry on loopback (repeatable; env STRATUS_INSECURE_REGISTRIES, comma-separated).")
    var insecureRegistry: [String] = []

    @Option(name: .customLong("image-gc-after"),
            help: "How long a pulled container image is kept once no function runs it (env STRATUS_IMAGE_GC_AFTER; default 10m).")
    var imageGCAfter: String?

    @Flag(name: .customLong("trust-precompiled"),
          help: "Load Wasmtime code compiled ahead of time (`stratus compile`, `stratus deploy --precompiled`). It is native code that runs inside the server unchecked: only for servers where everyone who can deploy is trusted with the server itself (env STRATUS_TRUST_PRECOMPILED=1).")
    var trustPrecompiled = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        let maxBytes: Int
        let bodySize = maxBodySize ?? env["STRATUS_MAX_BODY_SIZE"].nonEmpty ?? "16Mi"
        do { maxBytes = try Quantities.memory(bodySize) } catch { throw ValidationError("--max-body-size: \(error)") }
        guard let port = port ?? Int(env["STRATUS_PORT"].nonEmpty ?? "8080"), (0...65535).contains(port) else {
            throw ValidationError("--port (or STRATUS_PORT) must be a number between 0 and 65535")
        }
        let host = host ?? env["STRATUS_BIND"].nonEmpty ?? "127.0.0.1"
        guard let threads = inferenceThreads ?? Int(env["STRATUS_INFERENCE_THREADS"].nonEmpty ?? "1"), (0...1024).contains(threads) else {
            throw ValidationError("--inference-threads (or STRATUS_INFERENCE_THREADS) must be a number between 0 and 1024")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "stratus")
        let data = dataDirectory.map { URL(fileURLWithPath: $0) } ?? Paths.home
        let storeURL = store ?? env["STRATUS_STORE"].nonEmpty ?? env["DATABASE_URL"].nonEmpty
        let credentialsPath = credentialsFile ?? env["STRATUS_CREDENTIALS_FILE"].nonEmpty
        if GatewayConfiguration.clusterStoreURL(storeURL) != nil, !noAuth, credentialsPath == nil {
            // Each node would generate credentials of its own: a client would be let in by some nodes only.
            throw ValidationError("--store (a cluster's database) needs --credentials-file: every node of a cluster checks the same admin credentials (a JSON file {\"user\": \"admin\", \"password\": \"…\"}, e.g. a Kubernetes Secret)")
        }
        var credentials: Credentials?
        if noAuth {
            logger.warning("authentication is off (--no-auth): anyone who can reach this port can deploy code")
        } else if let file = credentialsPath {
            // A cluster's nodes share one admin credential (a Kubernetes Secret): read it, never generate it.
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("--credentials-file \(file): cannot read the file") }
            guard let loaded = try? JSONDecoder().decode(Credentials.self, from: data), !loaded.user.isEmpty, !loaded.password.isEmpty else {
                throw ValidationError("--credentials-file \(file): expected JSON {\"user\": \"…\", \"password\": \"…\"}")
            }
            credentials = loaded
        } else {
            let loaded: Credentials, created: Bool
            do { (loaded, created) = try Credentials.loadOrCreate(in: data) } catch {
                throw CLIError("cannot set up credentials: \(error.localizedDescription)")
            }
            credentials = loaded
            if created {
                say("""
                    Generated gateway credentials (saved to \(Credentials.file(in: data).path)):
                      user:     \(loaded.user)
                      password: \(loaded.password)
                    Log in from another machine with: stratus login --username \(loaded.user) --password-stdin
                    """)
            }
        }
        var configuration = GatewayConfiguration(host: host, port: port, dataDirectory: data, maxRequestBytes: maxBytes,
                                                 authEnabled: !noAuth, version: StratusVersion.current,
                                                 functionUser: functionUser ?? env["STRATUS_FUNCTION_USER"].nonEmpty)
        configuration.inferenceThreads = threads
        configuration.commit = StratusVersion.commit
        // Classic replicas run the launcher installed beside this binary; without it each call is spawned here.
        configuration.launcherBinary = Self.launcherBinary()
        if configuration.launcherBinary == nil {
            logger.warning("stratus-launcher is not beside the stratus binary: each classic call starts its sandbox anew (slower); make install puts both in place")
        }
        configuration.tlsCertificateChain = tlsCertificate ?? env["STRATUS_TLS_CERT"].nonEmpty
        configuration.tlsPrivateKey = tlsKey ?? env["STRATUS_TLS_KEY"].nonEmpty
        do { configuration.maxResponseBytes = try Quantities.memory(maxResponseSize ?? env["STRATUS_MAX_RESPONSE_SIZE"].nonEmpty ?? "64Mi") } catch {
            throw ValidationError("--max-response-size: \(error)")
        }
        guard let workers = queueWorkers ?? Int(env["STRATUS_QUEUE_WORKERS"].nonEmpty ?? "32"), (1...4096).contains(workers) else {
            throw ValidationError("--queue-workers (or STRATUS_QUEUE_WORKERS) must be a number between 1 and 4096")
        }
        configuration.queue.workers = workers
        guard let inflight = maxInflight ?? Int(env["STRATUS_MAX_INFLIGHT"].nonEmpty ?? "1024"), inflight >= 1 else {
            throw ValidationError("--max-inflight (or STRATUS_MAX_INFLIGHT) must be 1 or more")
        }
        configuration.maxInflight = inflight
        if let text = logFollowTimeout ?? env["STRATUS_LOG_FOLLOW_TIMEOUT"].nonEmpty {
            do { configuration.logFollowSeconds = try Quantities.duration(text) } catch {
                throw ValidationError("--log-follow-timeout (or STRATUS_LOG_FOLLOW_TIMEOUT): \(error)")
            }
        }
        if let callbackTimeout {
            do { configuration.queue.callbackTimeout = try Quantities.duration(callbackTimeout) } catch {
                throw ValidationError("--callback-timeout: \(error)")
            }
        }
        if let callbackRetryWait {
            do { configuration.queue.callbackMinWait = try Quantities.duration(callbackRetryWait) } catch {
                throw ValidationError("--callback-retry-wait: \(error)")
            }
        }
        configuration.inferenceSpinning = inferenceSpinning || env["STRATUS_INFERENCE_SPINNING"] == "1"
        configuration.storeURL = storeURL
        configuration.secretKeyFile = secretKeyFile ?? env["STRATUS_SECRET_KEY_FILE"].nonEmpty
        configuration.nodeName = nodeName ?? env["STRATUS_NODE_NAME"].nonEmpty
        if let text = wasmEngine ?? env["STRATUS_WASM_ENGINE"].nonEmpty {
            guard let engine = WasmEngineKind(rawValue: text.lowercased()) else {
                throw ValidationError("--wasm-engine (or STRATUS_WASM_ENGINE) must be 'wasmtime' or 'wasmkit', not '\(text)'")
            }
            configuration.wasmEngine = engine
        }
        configuration.wasmtimeLibrary = wasmtimeLibrary ?? env["STRATUS_WASMTIME"].nonEmpty
        configuration.trustPrecompiled = trustPrecompiled || env["STRATUS_TRUST_PRECOMPILED"] == "1"
        if let text = imageGCAfter ?? env["STRATUS_IMAGE_GC_AFTER"].nonEmpty {
            do { configuration.imageGCAfter = try Quantities.duration(text) } catch { throw ValidationError("--image-gc-after: \(error)") }
        }
        configuration.insecureRegistries = insecureRegistry + (env["STRATUS_INSECURE_REGISTRIES"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        configuration.nodeAddress = nodeAddress ?? env["STRATUS_NODE_ADDRESS"].nonEmpty
        if let text = queueLease ?? env["STRATUS_QUEUE_LEASE"].nonEmpty {
            do { configuration.queue.lease = try Quantities.duration(text) } catch { throw ValidationError("--queue-lease: \(error)") }
            guard configuration.queue.lease >= 1 else { throw ValidationError("--queue-lease must be 1s or more") }
        }
        let gateway: Gateway
        do { gateway = try await Gateway(configuration: configuration, credentials: credentials, logger: logger) } catch let error as GatewayStartError {
            throw ValidationError(error.message)
        }
        try await gateway.restoreFunctions()
        let scheme = gateway.usesTLS ? "https" : "http"
        do {
            try await gateway.serve { host, port in
                say("Stratus \(StratusVersion.current) listening on \(scheme)://\(host):\(port) (data: \(data.path))")
            }
        } catch {
            throw CLIError("stratus serve stopped: cannot serve on \(host):\(port): \(error)")
        }
    }
}

extension Serve {
    /// `stratus-launcher` beside this binary (symbolic links followed), when it is there.
    static func launcherBinary() -> String? {
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let launcher = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("stratus-launcher").path
        return FileManager.default.isExecutableFile(atPath: launcher) ? launcher : nil
    }
}

/// The version this binary reports.
enum StratusVersion {
    static let current = BuildInfo.release
    /// The commit this binary was built from (`unknown` outside a git checkout).
    static let commit = BuildInfo.commit
}

/// Writes a line to stdout at once (print is buffered when stdout is a pipe).
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
