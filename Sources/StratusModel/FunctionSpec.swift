public import Foundation

/// A deployed function as the registry stores it: what the user asked for, with its artifact resolved.
public struct FunctionSpec: Codable, Sendable, Equatable {
    /// The name and namespace (stored as `name` or `name.namespace`).
    public var name: FunctionName
    /// The image reference the user deployed (`sha256:…` or `name:tag`).
    public var image: String
    /// The artifact the image resolved to at deploy time; `nil` for a host command (`envProcess` only).
    public var artifact: Digest?
    /// How the function runs; `nil` in records written before process functions existed, meaning Wasm.
    public var runtime: FunctionRuntime?
    public var envProcess: String?
    public var envVars: [String: String]
    public var labels: [String: String]
    public var annotations: [String: String]
    public var constraints: [String]
    public var secrets: [String]
    public var limits: FunctionResources?
    public var requests: FunctionResources?
    public var readOnlyRootFilesystem: Bool
    /// Replicas asked for with `POST /system/scale-function`; `nil` means the spec's minimum.
    public var replicas: Int?
    /// A container image function: the digest its registry reference resolved to at deploy time
    /// (restarts and other nodes run exactly that image).
    public var imageDigest: Digest?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: FunctionName, image: String, artifact: Digest?, runtime: FunctionRuntime = .wasm,
        envProcess: String? = nil, envVars: [String: String] = [:], labels: [String: String] = [:],
        annotations: [String: String] = [:], constraints: [String] = [], secrets: [String] = [],
        limits: FunctionResources? = nil, requests: FunctionResources? = nil, readOnlyRootFilesystem: Bool = false,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.name = name
        self.image = image
        self.artifact = artifact
        self.runtime = runtime
        self.envProcess = envProcess
        self.envVars = envVars
        self.labels = labels
        self.annotations = annotations
        self.constraints = constraints
        self.secrets = secrets
        self.limits = limits
        self.requests = requests
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The runtime settings this spec asks for; throws when an annotation or limit is malformed.
    public func settings() throws(ModelError) -> FunctionSettings {
        try FunctionSettings(spec: self)
    }

    /// The OpenFaaS view of this function: `replicas` wanted, `availableReplicas` ready now.
    public func status(invocationCount: Int, replicas: Int, availableReplicas: Int) -> FunctionStatus {
        FunctionStatus(
            name: name.rawValue, image: image, namespace: namespace, envProcess: envProcess,
            envVars: envVars.isEmpty ? nil : envVars, constraints: constraints.isEmpty ? nil : constraints,
            secrets: secrets.isEmpty ? nil : secrets, labels: labels.merging([Self.functionLabel: name.rawValue]) { _, provider in provider },
            annotations: annotations,
            limits: limits, requests: requests, readOnlyRootFilesystem: readOnlyRootFilesystem ? true : nil,
            invocationCount: Double(invocationCount), replicas: replicas, availableReplicas: availableReplicas,
            createdAt: createdAt, digest: artifact?.description, runtime: kind.rawValue)
    }

    /// The label every function shows with its name, as OpenFaaS providers add it (tools filter on
    /// it); the provider's to set, never stored as a user label.
    public static let functionLabel = "faas_function"

    /// The namespace the function lives in.
    public var namespace: String { name.namespace }

    /// How the function runs (Wasm unless stated).
    public var kind: FunctionRuntime { runtime ?? .wasm }
}

/// Which runtime executes a function.
public enum FunctionRuntime: String, Codable, Sendable {
    /// A WASI module run in-process by the Wasm runtime.
    case wasm
    /// A command run as a process (OpenFaaS watchdog), from a bundle or on the host; see `ProcessMode`.
    case process
    /// A container image from an OCI registry (an OpenFaaS function image with its watchdog), run
    /// under an OCI runtime as http-mode replicas.
    case image
}

/// How a process function is run (the OpenFaaS watchdog `mode`).
public enum ProcessMode: String, Codable, Sendable {
    /// A process per request: body on stdin, answer on stdout (the classic watchdog).
    case classic
    /// Long-running replicas that listen on the port in `$PORT`; requests are proxied to them (of-watchdog `mode=http`).
    case http
    /// A custom runtime: replicas of a `bootstrap` executable that fetch events from the AWS Lambda
    /// Runtime API or the Tencent SCF custom runtime API and post the answers back.
    case bootstrap
}

/// The engines that run Wasm functions: Wasmtime compiles them (Cranelift, ahead of time);
/// WasmKit interprets them and needs nothing but Swift.
public enum WasmEngineKind: String, Sendable, CaseIterable, Codable {
    case wasmtime
    case wasmkit
}

/// How a function runs: limits and response settings derived from its spec.
public struct FunctionSettings: Sendable, Equatable {
    /// Annotation choosing the Wasm engine of one function (`wasmtime` or `wasmkit`); else the server's default.
    public static let wasmEngineAnnotation = "com.stratus.wasm.engine"
    /// The Wasm engine this function asks for, if any.
    public var wasmEngine: WasmEngineKind?
    /// Annotation naming the execution timeout (e.g. `30s`); the watchdog's `exec_timeout` env var also works.
    public static let timeoutAnnotation = "com.stratus.timeout"
    /// Annotation naming the response content type; the watchdog's `content_type` env var also works.
    public static let contentTypeAnnotation = "com.stratus.content-type"
    /// Annotation choosing the process mode (`classic` or `http`); the of-watchdog's `mode` env var also works.
    public static let modeAnnotation = "com.stratus.mode"
    /// Annotation: how long an http-mode replica may take to accept connections after it starts (e.g. `10s`).
    public static let readyTimeoutAnnotation = "com.stratus.ready-timeout"
    /// OpenFaaS scaling labels (read from labels as OpenFaaS sets them, and from annotations, which win)
    /// for the replica range, and the optional readiness path.
    public static let minReplicasAnnotation = "com.openfaas.scale.min"
    public static let maxReplicasAnnotation = "com.openfaas.scale.max"
    public static let healthPathAnnotation = "com.openfaas.health.http.path"
    public static let defaultTimeout: Double = 30
    public static let defaultReadyTimeout: Double = 10
    public static let defaultMaxReplicas = 20
    public static let defaultMemoryLimit = 128 * 1024 * 1024

    /// Seconds a call may run before it is stopped and answered with 504.
    public var timeout: Double
    /// Bytes of linear memory the function may use.
    public var memoryLimit: Int
    /// The response's `Content-Type`, when the function sets one.
    public var contentType: String?
    /// The memory limit the user set (`limits.memory`), applied to process functions as their address-space cap.
    public var explicitMemoryLimit: Int?
    /// Calls allowed at once; more get 429 (env `max_inflight`, as the OpenFaaS watchdog reads it).
    public var maxInflight: Int?
    /// How a process function runs; ignored for Wasm.
    public var mode: ProcessMode = .classic
    /// Replicas started at deploy (`com.openfaas.scale.min`, default 1) and the most allowed, for every kind.
    public var minReplicas = 1
    public var maxReplicas = FunctionSettings.defaultMaxReplicas
    /// http mode: seconds a new replica has to accept connections.
    public var readyTimeout = FunctionSettings.defaultReadyTimeout
    /// http mode: a path that must answer 2xx before a replica gets traffic (else: it accepts a connection).
    public var healthPath: String?
    /// Autoscaling: load per replica to aim for (`com.openfaas.scale.target`, default 50), in the unit of `scaleType`.
    public var scaleTarget = 50
    /// What the autoscaler measures (`com.openfaas.scale.type`): calls in flight (capacity, the default), calls a second (rps).
    public var scaleType = ScaleType.capacity
    /// The share of `scaleTarget` a replica is aimed at before another is added (`com.openfaas.scale.target-proportion`, default 0.90).
    public var targetProportion = 0.9
    public static let scaleTypeAnnotation = "com.openfaas.scale.type"
    public static let targetProportionAnnotation = "com.openfaas.scale.target-proportion"
    /// Scale to zero replicas after `zeroDuration` seconds without calls (`com.openfaas.scale.zero`).
    public var scaleToZero = false
    public var zeroDuration: Double = 15 * 60
    /// Seconds the load must want fewer replicas before some are stopped (`com.stratus.scale.down-delay`, default 60s).
    public var scaleDownDelay: Double = 60
    public static let scaleTargetAnnotation = "com.openfaas.scale.target"
    public static let scaleZeroAnnotation = "com.openfaas.scale.zero"
    public static let zeroDurationAnnotation = "com.openfaas.scale.zero-duration"
    public static let scaleDownDelayAnnotation = "com.stratus.scale.down-delay"
    /// Seconds a call over `maxInflight` waits for a slot before it gets 429 (`com.stratus.queue-wait`, default 0.5s).
    public var queueWait: Double = FunctionSettings.defaultQueueWait
    public static let queueWaitAnnotation = "com.stratus.queue-wait"
    public static let defaultQueueWait: Double = 0.5
    /// How a call becomes the function's stdin and its stdout the answer (`com.stratus.event-format`).
    public var eventFormat = EventFormat.raw
    /// The function's timer trigger (`topic: cron-function` and `schedule`), if it has one.
    public var timer: TimerTrigger?
    /// Async calls: how often and when a failed one runs again.
    public var retry = RetryPolicy()
    /// Async calls of this function run at most this many at once (`com.stratus.async.concurrency`, default 8).
    public var asyncConcurrency = FunctionSettings.defaultAsyncConcurrency
    public static let asyncConcurrencyAnnotation = "com.stratus.async.concurrency"
    public static let defaultAsyncConcurrency = 8

    public init(timeout: Double = FunctionSettings.defaultTimeout, memoryLimit: Int = FunctionSettings.defaultMemoryLimit, contentType: String? = nil) {
        self.timeout = timeout
        self.memoryLimit = memoryLimit
        self.contentType = contentType
    }

    init(spec: FunctionSpec) throws(ModelError) {
        let timeoutText = spec.annotations[Self.timeoutAnnotation] ?? spec.envVars["exec_timeout"]
        timeout = try timeoutText.map { (t: String) throws(ModelError) in try Quantities.duration(t) } ?? Self.defaultTimeout
        explicitMemoryLimit = try spec.limits?.memory.map { (m: String) throws(ModelError) in try Quantities.memory(m) }
        memoryLimit = explicitMemoryLimit ?? Self.defaultMemoryLimit
        contentType = spec.annotations[Self.contentTypeAnnotation] ?? spec.envVars["content_type"]
        if let text = spec.envVars["max_inflight"] {
            guard let value = Int(text), value > 0 else { throw ModelError.invalidLimit("max_inflight", text) }
            maxInflight = value
        }
        mode = try Self.mode(annotations: spec.annotations, environment: spec.envVars)
        if let text = spec.annotations[Self.wasmEngineAnnotation] {
            guard let engine = WasmEngineKind(rawValue: text.lowercased()) else {
                throw ModelError.invalidWasmEngine(text)
            }
            wasmEngine = engine
        }
        // OpenFaaS sets the scaling keys as labels; annotations are read too and win.
        func scaling(_ key: String) -> String? { spec.annotations[key] ?? spec.labels[key] }
        minReplicas = try Self.count(scaling(Self.minReplicasAnnotation), Self.minReplicasAnnotation, allowZero: true) ?? 1
        maxReplicas = try Self.count(scaling(Self.maxReplicasAnnotation), Self.maxReplicasAnnotation, allowZero: false) ?? Self.defaultMaxReplicas
        guard minReplicas <= maxReplicas else {
            throw ModelError.invalidLimit(Self.minReplicasAnnotation, "\(minReplicas) (above \(Self.maxReplicasAnnotation) \(maxReplicas))")
        }
        if let text = spec.annotations[Self.readyTimeoutAnnotation] { readyTimeout = try Quantities.duration(text) }
        if let path = spec.annotations[Self.healthPathAnnotation], !path.isEmpty {
            healthPath = path.hasPrefix("/") ? path : "/" + path
        } else if spec.kind == .image {
            // OpenFaaS's watchdogs (classic and of-watchdog) answer here once their function is ready.
            healthPath = "/_/health"
        }
        scaleTarget = try Self.count(scaling(Self.scaleTargetAnnotation), Self.scaleTargetAnnotation, allowZero: false) ?? 50
        if let text = scaling(Self.scaleTypeAnnotation) {
            guard let type = ScaleType(rawValue: text.lowercased()) else {
                throw ModelError.invalidLimit(Self.scaleTypeAnnotation, "\(text) (use capacity, rps or cpu)")
            }
            scaleType = type
        }
        if let text = scaling(Self.targetProportionAnnotation) {
            guard let value = Double(text), value > 0, value <= 1 else {
                throw ModelError.invalidLimit(Self.targetProportionAnnotation, "\(text) (a fraction above 0, at most 1)")
            }
            targetProportion = value
        }
        if let text = scaling(Self.scaleZeroAnnotation) {
            switch text.lowercased() {
            case "true", "1", "yes": scaleToZero = true
            case "false", "0", "no": scaleToZero = false
            default: throw ModelError.invalidLimit(Self.scaleZeroAnnotation, text)
            }
        }
        if let text = scaling(Self.zeroDurationAnnotation) { zeroDuration = try Quantities.duration(text) }
        if let text = scaling(Self.scaleDownDelayAnnotation) { scaleDownDelay = try Quantities.duration(text) }
        if let text = spec.annotations[Self.queueWaitAnnotation] {
            queueWait = text == "0" ? 0 : try Quantities.duration(text)
        }
        if let text = spec.annotations[EventFormat.annotation] {
            guard let format = EventFormat(rawValue: text) else {
                throw ModelError.invalidLimit(EventFormat.annotation, "\(text) (use raw, apigateway-scf, apigateway-aws or timer-scf)")
            }
            eventFormat = format
        }
        retry = try RetryPolicy(annotations: spec.annotations)
        timer = try TimerTrigger(annotations: spec.annotations)
        asyncConcurrency = try Self.count(spec.annotations[Self.asyncConcurrencyAnnotation], Self.asyncConcurrencyAnnotation, allowZero: false)
            ?? Self.defaultAsyncConcurrency
    }

    /// The process mode `annotations` (`com.stratus.mode`) or `environment` (`mode`) ask for; classic when neither does.
    public static func mode(annotations: [String: String], environment: [String: String]) throws(ModelError) -> ProcessMode {
        guard let text = annotations[modeAnnotation] ?? environment["mode"] else { return .classic }
        switch text.lowercased() {
        case "classic", "serializing", "streaming": return .classic
        case "http": return .http
        case "bootstrap": return .bootstrap
        default: throw ModelError.invalidMode(text)
        }
    }

    /// The command a custom runtime (mode `bootstrap`) runs when the deployment names none.
    public static let bootstrapCommand = "./bootstrap"

    private static func count(_ text: String?, _ name: String, allowZero: Bool) throws(ModelError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value > 0 || (allowZero && value == 0) else { throw ModelError.invalidLimit(name, text) }
        return value
    }

    /// Replicas to run for a spec that asked for `replicas` (scale-function), clamped to the allowed range.
    public func replicas(requested: Int?) -> Int {
        min(max(requested ?? minReplicas, 0), maxReplicas)
    }

    /// Whether load may change the replica count: not when `com.openfaas.scale.min` equals `.max` (as in OpenFaaS).
    public var autoscales: Bool { minReplicas < maxReplicas }
}

/// What the autoscaler measures per replica (`com.openfaas.scale.type`).
public enum ScaleType: String, Sendable, Equatable {
    /// Calls in flight.
    case capacity
    /// Calls finished per second.
    case rps
    /// CPU use; Stratus measures no per-replica CPU yet and reads it as calls in flight.
    case cpu
}
