public import Foundation

/// A deployed function as the registry stores it: what the user asked for, with its artifact resolved.
public struct FunctionSpec: Codable, Sendable, Equatable {
    public var name: FunctionName
    public var namespace: String
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
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: FunctionName, namespace: String = FunctionReference.defaultNamespace, image: String, artifact: Digest?, runtime: FunctionRuntime = .wasm,
        envProcess: String? = nil, envVars: [String: String] = [:], labels: [String: String] = [:],
        annotations: [String: String] = [:], constraints: [String] = [], secrets: [String] = [],
        limits: FunctionResources? = nil, requests: FunctionResources? = nil, readOnlyRootFilesystem: Bool = false,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.name = name
        self.namespace = namespace
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

    /// The OpenFaaS view of this function.
    public func status(invocationCount: Int, replicas: Int) -> FunctionStatus {
        FunctionStatus(
            name: name.rawValue, image: image, namespace: namespace, envProcess: envProcess,
            envVars: envVars.isEmpty ? nil : envVars, constraints: constraints.isEmpty ? nil : constraints,
            secrets: secrets.isEmpty ? nil : secrets, labels: labels, annotations: annotations,
            limits: limits, requests: requests, readOnlyRootFilesystem: readOnlyRootFilesystem ? true : nil,
            invocationCount: Double(invocationCount), replicas: replicas, availableReplicas: replicas,
            createdAt: createdAt, digest: artifact?.description, runtime: kind.rawValue)
    }

    /// How the function runs (Wasm unless stated).
    public var kind: FunctionRuntime { runtime ?? .wasm }
}

/// Which runtime executes a function.
public enum FunctionRuntime: String, Codable, Sendable {
    /// A WASI module run in-process by the Wasm runtime.
    case wasm
    /// A command started per request (OpenFaaS classic watchdog), from a bundle or on the host.
    case process
}

/// How a function runs: limits and response settings derived from its spec.
public struct FunctionSettings: Sendable, Equatable {
    /// Annotation naming the execution timeout (e.g. `30s`); the watchdog's `exec_timeout` env var also works.
    public static let timeoutAnnotation = "com.stratus.timeout"
    /// Annotation naming the response content type; the watchdog's `content_type` env var also works.
    public static let contentTypeAnnotation = "com.stratus.content-type"
    public static let defaultTimeout: Double = 30
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
    }
}
