public import Foundation
public import StratusModel
public import StratusWasm
public import StratusImages

/// A deploy checked and resolved: the spec with its settings parsed once, and everything the
/// function needs in hand (artifact bytes, secrets, layers, models). The API, restore at start-up
/// and the store's entries all build one; `FunctionFactory` turns it into a running function.
public struct DeployPlan: Sendable {
    public let spec: FunctionSpec
    /// The spec's settings, parsed once (a plan cannot hold malformed ones).
    public let settings: FunctionSettings
    /// The artifact's bytes; `nil` for a host command.
    public let artifact: [UInt8]?
    /// The folder of secret files a process function sees (inside the sandbox).
    public let secretsFolder: URL?
    /// The secret files a Wasm function sees.
    public let secretValues: [String: [UInt8]]
    /// The function's merged layers, shown read-only at `/opt`.
    public let layers: URL?
    /// The models a Wasm function declared, by name.
    public let models: [String: FunctionModels.Model]
    /// A container image function's image, pulled and unpacked, and its root filesystem.
    public var image: (image: PulledImage, rootfs: URL)?

    public init(spec: FunctionSpec, artifact: [UInt8]?, secretsFolder: URL? = nil, secretValues: [String: [UInt8]] = [:], layers: URL? = nil,
                models: [String: FunctionModels.Model] = [:]) throws(InvokerError) {
        do { settings = try spec.settings() } catch { throw .invalidSettings(error) }
        if spec.kind == .wasm, artifact == nil || spec.artifact == nil {
            throw .invalidArtifact(.invalidModule("a Wasm function needs its module's bytes"))
        }
        self.spec = spec
        self.artifact = artifact
        self.secretsFolder = secretsFolder
        self.secretValues = secretValues
        self.layers = layers
        self.models = models
    }

    /// Replicas to start with: the count last asked for with scale-function, else `com.openfaas.scale.min`.
    public var initialReplicas: Int { settings.replicas(requested: spec.replicas) }
}

/// A function made from a plan and ready for calls, not yet routed to: `Invoker.activate` swaps it in.
public struct PreparedFunction: Sendable {
    public let spec: FunctionSpec
    public let settings: FunctionSettings
    public let function: any DeployedFunction
    /// The replica count the autoscaler never goes below on its own.
    public let baseline: Int

    public init(spec: FunctionSpec, settings: FunctionSettings, function: any DeployedFunction, baseline: Int) {
        self.spec = spec
        self.settings = settings
        self.function = function
        self.baseline = baseline
    }
}

extension FunctionSpec {
    /// The function's own environment variables, in a stable order.
    var orderedEnvironment: [(String, String)] {
        envVars.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
