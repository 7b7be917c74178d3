import StratusModel
import StratusWasm

/// A Wasm function: calls run in warm instances of its module, in-process; a replica is a warm instance.
final class WasmKind: DeployedFunction {
    let function: WasmFunction
    let runtime: WasmRuntime
    let settings: FunctionSettings
    /// argv[0] and the function's own environment, in a stable order.
    let name: String
    let environment: [(String, String)]
    let outputLimit: Int

    init(function: WasmFunction, runtime: WasmRuntime, spec: FunctionSpec, settings: FunctionSettings, outputLimit: Int) {
        self.function = function
        self.runtime = runtime
        self.settings = settings
        name = spec.name.rawValue
        environment = spec.orderedEnvironment
        self.outputLimit = outputLimit
    }

    var replicas: ReplicaCount { ReplicaCount(desired: function.desiredReplicas, available: function.availableReplicas) }
    var instances: Int { function.warmInstances }
    var kind: String { "wasm" }
    var streaming: (any StreamingFunction)? { nil }

    func resize(to count: Int) { runtime.scale(function, to: count) }

    /// The module was instantiated once at load: it is ready.
    func waitUntilReady() async throws(InvokerError) {}

    func stop() async { runtime.scale(function, to: 0) }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        let guest = GuestRequest(stdin: settings.eventFormat.event(for: request), environment: environment + request.watchdogEnvironment,
                                 arguments: [name], outputLimit: outputLimit)
        let result = await runtime.run(function, request: guest)
        return GuestAnswer.outcome(result, settings: settings, request: request, instance: "wasm")
    }
}

extension FunctionSpec {
    /// The function's own environment variables, in a stable order.
    var orderedEnvironment: [(String, String)] {
        envVars.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
