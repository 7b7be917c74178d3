public import Foundation

/// CPU and memory quantities as OpenFaaS writes them (`"128Mi"`, `"100m"`).
public struct FunctionResources: Codable, Sendable, Equatable {
    public var memory: String?
    public var cpu: String?

    public init(memory: String? = nil, cpu: String? = nil) {
        self.memory = memory
        self.cpu = cpu
    }
}

/// The body of `POST/PUT /system/functions` (OpenFaaS `FunctionDeployment`).
public struct FunctionDeployment: Codable, Sendable, Equatable {
    public var service: String
    public var image: String
    public var namespace: String?
    public var envProcess: String?
    public var envVars: [String: String]?
    public var constraints: [String]?
    public var secrets: [String]?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var limits: FunctionResources?
    public var requests: FunctionResources?
    public var readOnlyRootFilesystem: Bool?

    public init(
        service: String, image: String, namespace: String? = nil, envProcess: String? = nil,
        envVars: [String: String]? = nil, constraints: [String]? = nil, secrets: [String]? = nil,
        labels: [String: String]? = nil, annotations: [String: String]? = nil,
        limits: FunctionResources? = nil, requests: FunctionResources? = nil, readOnlyRootFilesystem: Bool? = nil
    ) {
        self.service = service
        self.image = image
        self.namespace = namespace
        self.envProcess = envProcess
        self.envVars = envVars
        self.constraints = constraints
        self.secrets = secrets
        self.labels = labels
        self.annotations = annotations
        self.limits = limits
        self.requests = requests
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
    }
}

/// One entry of `GET /system/functions` (OpenFaaS `FunctionStatus`).
public struct FunctionStatus: Codable, Sendable, Equatable {
    public var name: String
    public var image: String
    public var namespace: String
    public var envProcess: String?
    public var envVars: [String: String]?
    public var constraints: [String]?
    public var secrets: [String]?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var limits: FunctionResources?
    public var requests: FunctionResources?
    public var readOnlyRootFilesystem: Bool?
    public var invocationCount: Double
    public var replicas: Int
    public var availableReplicas: Int
    public var createdAt: Date
    /// Stratus extension: the content address of the deployed artifact.
    public var digest: String?
    /// Stratus extension: which runtime runs it (`wasm`).
    public var runtime: String?
    /// Stratus extension: the Wasm engine running it on the node that answered (`wasmtime`, `wasmkit`).
    public var engine: String?
    /// Stratus extension: its published versions and aliases (absent when it has none).
    public var versions: [VersionStatus]?
    public var aliases: [AliasStatus]?
    /// Stratus extension: its timer trigger, when it has one.
    public var trigger: TriggerStatus?
}

/// The body of `DELETE /system/functions`.
public struct DeleteFunctionRequest: Codable, Sendable, Equatable {
    public var functionName: String
    public var namespace: String?
    public init(functionName: String, namespace: String? = nil) {
        self.functionName = functionName
        self.namespace = namespace
    }
}

/// `GET /system/info`.
public struct GatewayInfo: Codable, Sendable, Equatable {
    public struct Version: Codable, Sendable, Equatable {
        public var release: String
        public var sha: String
        public var commit_message: String?
    }
    public struct Provider: Codable, Sendable, Equatable {
        public var provider: String
        public var orchestration: String
        public var version: Version
    }
    public var provider: Provider
    public var version: Version
    public var arch: String

    public init(release: String, sha: String, arch: String) {
        let version = Version(release: release, sha: sha, commit_message: nil)
        provider = Provider(provider: "stratus", orchestration: "stratus", version: version)
        self.version = version
        self.arch = arch
    }
}

/// `GET /system/namespace/NAME` (OpenFaaS's `FunctionNamespace`).
public struct FunctionNamespace: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]?
    public var annotations: [String: String]?

    public init(name: String, labels: [String: String]?, annotations: [String: String]?) {
        self.name = name
        self.labels = labels
        self.annotations = annotations
    }
}

/// `POST /system/artifacts` answer.
public struct ArtifactUpload: Codable, Sendable, Equatable {
    public var digest: String
    public var size: Int
    public var name: String?

    public init(digest: String, size: Int, name: String?) {
        self.digest = digest
        self.size = size
        self.name = name
    }
}

/// `POST /system/scale-function/{name}`: the replica count wanted.
public struct ScaleServiceRequest: Codable, Sendable, Equatable {
    public var serviceName: String?
    public var namespace: String?
    public var replicas: Int

    public init(serviceName: String? = nil, namespace: String? = nil, replicas: Int) {
        self.serviceName = serviceName
        self.namespace = namespace
        self.replicas = replicas
    }
}
