import StratusModel
import StratusWasm

/// A Wasm function: calls run in warm instances of its module, in-process; a replica is a warm instance.
final class WasmKind: DeployedFunction {
    let function: WasmFunction
    let runtime: WasmRuntime
    let guest: GuestCall

    init(function: WasmFunction, runtime: WasmRuntime, guest: GuestCall) {
        self.function = function
        self.runtime = runtime
        self.guest = guest
    }

    var kind: String { "wasm" }
    var engine: String? { function.engine.rawValue }
    var replicas: ReplicaCount { ReplicaCount(desired: function.desiredReplicas, available: function.availableReplicas) }
    var desiredReplicas: Int { function.desiredReplicas }
    var instances: Int { function.warmInstances }
    var streaming: (any StreamingFunction)? { nil }

    func resize(to count: Int) { runtime.scale(function, to: count) }

    /// The module was instantiated once at load: it is ready.
    func waitUntilReady() async throws(InvokerError) {}

    func stop() async { runtime.scale(function, to: 0) }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        let result = await runtime.run(function, request: guest.request(for: request))
        return GuestAnswer.outcome(result, settings: guest.settings, request: request, instance: "wasm")
    }
}
