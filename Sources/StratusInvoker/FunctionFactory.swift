public import Foundation
public import StratusModel
public import StratusProcess
public import StratusWasm
import StratusImages

/// Turns a deploy plan into a running function of the right kind: the one place that knows the
/// kinds (Wasm, classic process, http mode, custom runtime).
public struct FunctionFactory: Sendable {
    let wasm: WasmRuntime
    let processes: ProcessRuntime
    /// The inference engine Wasm functions reach through WASI-NN, when this server has one.
    let inference: (any InferenceBackend)?
    let logSink: (any FunctionLogSink)?
    /// Largest response body a function may write.
    let responseLimit: Int
    /// Where container image functions run (runc), when this server can run them.
    let containers: Containers?

    public init(wasm: WasmRuntime, processes: ProcessRuntime, inference: (any InferenceBackend)?, logSink: (any FunctionLogSink)?, responseLimit: Int,
                containers: Containers? = nil) {
        self.containers = containers
        self.wasm = wasm
        self.processes = processes
        self.inference = inference
        self.logSink = logSink
        self.responseLimit = responseLimit
    }

    /// Makes `plan`'s function with no replicas yet: a Wasm module instantiated once, a process
    /// function's bundle unpacked and its command found. The invoker sizes it.
    func make(_ plan: DeployPlan) async throws(InvokerError) -> any DeployedFunction {
        for (_, model) in plan.models.sorted(by: { $0.key < $1.key }) { try validateModel(digest: model.digest, bytes: model.bytes) }
        let spec = plan.spec, settings = plan.settings
        if spec.kind == .wasm {
            guard let digest = spec.artifact, let bytes = plan.artifact else {
                throw .invalidArtifact(.invalidModule("a Wasm function needs its module's bytes"))
            }
            do {
                let module = try wasm.prepare(digest: digest, bytes: bytes)
                let function = try await wasm.load(module, settings: settings, secrets: plan.secretValues, layers: plan.layers,
                                                   models: FunctionModels(backend: inference, named: plan.models))
                return WasmKind(function: function, runtime: wasm, guest: GuestCall(spec: spec, settings: settings, outputLimit: responseLimit))
            } catch {
                throw .invalidArtifact(error)
            }
        }
        if spec.kind == .image { return try makeContainer(plan) }
        let function: ProcessFunction
        do throws(ProcessError) {
            var bundle: URL?
            if let digest = spec.artifact, let bytes = plan.artifact { bundle = try processes.prepareBundle(digest: digest, bytes: bytes) }
            function = try processes.load(command: spec.envProcess ?? "", bundle: bundle, settings: settings, secrets: plan.secretsFolder,
                                          layers: plan.layers)
        } catch {
            throw .invalidProcess(error)
        }
        switch settings.mode {
        case .classic:
            return ClassicKind(function: processes.classic(function, name: spec.name.qualified, log: replicaLog(spec)),
                               guest: GuestCall(spec: spec, settings: settings, outputLimit: responseLimit), command: spec.envProcess ?? "")
        case .http:
            return HTTPKind(function: processes.http(function, name: spec.name.qualified, environment: spec.orderedEnvironment, log: replicaLog(spec)),
                            responseLimit: responseLimit)
        case .bootstrap:
            let replicas = processes.bootstrap(function, name: spec.name.qualified, environment: spec.orderedEnvironment, responseLimit: responseLimit,
                                               log: replicaLog(spec))
            return BootstrapKind(function: replicas, settings: settings)
        }
    }

    /// A container image function: http-mode replicas, each a container under runc.
    private func makeContainer(_ plan: DeployPlan) throws(InvokerError) -> any DeployedFunction {
        let spec = plan.spec
        guard let containers, containers.available else {
            throw .invalidImage("this server cannot run container images: it needs runc (apt-get install runc skopeo umoci)")
        }
        guard let (image, rootfs) = plan.image else { throw .invalidImage("the image of '\(spec.name)' is not pulled") }
        guard !(image.entrypoint + image.cmd).isEmpty else { throw .invalidImage(ImageError.noEntrypoint(spec.image).description) }
        let function: ProcessFunction
        do {
            let config = try ContainerConfig.json(image: image, rootfs: rootfs, hostname: spec.name.rawValue, environment: spec.orderedEnvironment,
                                                  secrets: plan.secretsFolder, memoryLimit: plan.settings.explicitMemoryLimit, cpu: spec.limits?.cpu)
            function = try containers.function(key: "\(spec.name.qualified)-\(image.digest.hex.prefix(12))", config: config, settings: plan.settings)
        } catch let error as ConfigError {
            throw .invalidImage("function '\(spec.name)': \(error)")
        } catch {
            throw .invalidImage("cannot prepare the container of '\(spec.name)': \(error.localizedDescription)")
        }
        return HTTPKind(function: processes.containerHTTP(function, name: spec.name.qualified, environment: [], log: replicaLog(spec)),
                        responseLimit: responseLimit, kind: "image")
    }

    /// Where a replica's output lines go: the function's log.
    private func replicaLog(_ spec: FunctionSpec) -> ReplicaLogSink {
        let sink = logSink
        let name = spec.name.rawValue
        let namespace = spec.namespace
        return { instance, lines in
            sink?.record(lines.map { LogLine(name: name, namespace: namespace, instance: instance, text: $0) })
        }
    }

    /// Checks that `bytes` is deployable: a Wasm module (WASI command, known imports, valid code) or a bundle.
    func validateArtifact(digest: Digest, bytes: [UInt8]) async throws(InvokerError) {
        if ProcessRuntime.isBundle(bytes) {
            do { try processes.validateBundle(bytes) } catch { throw .invalidProcess(error) }
            return
        }
        do { try await wasm.validate(digest: digest, bytes: bytes) } catch { throw .invalidArtifact(error) }
    }

    /// Checks that `bytes` are a model the inference engine loads (and keeps it loaded, so the first call is warm).
    func validateModel(digest: Digest, bytes: [UInt8]) throws(InvokerError) {
        guard let inference else {
            throw .invalidModel(.unavailable("this server has no inference engine: run `make setup-models` (or set STRATUS_ONNXRUNTIME) and restart it"))
        }
        do { _ = try inference.model(digest: digest, bytes: bytes) } catch { throw .invalidModel(error) }
    }
}
