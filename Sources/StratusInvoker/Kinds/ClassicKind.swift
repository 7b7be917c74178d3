import Foundation
import StratusModel
import StratusProcess
import Synchronization

/// A classic-watchdog function: a process per call, body on stdin, answer on stdout. A replica is
/// a unit of capacity (each admits `max_inflight` calls); it has no process of its own between calls.
final class ClassicKind: DeployedFunction {
    let function: ProcessFunction
    let processes: ProcessRuntime
    let settings: FunctionSettings
    let command: String
    let name: String
    let environment: [(String, String)]
    let outputLimit: Int
    private let desired = Atomic<Int>(0)

    init(function: ProcessFunction, processes: ProcessRuntime, spec: FunctionSpec, settings: FunctionSettings, outputLimit: Int) {
        self.function = function
        self.processes = processes
        self.settings = settings
        command = spec.envProcess ?? ""
        name = spec.name.rawValue
        environment = spec.orderedEnvironment
        self.outputLimit = outputLimit
    }

    /// Every replica wanted is ready: starting one needs no process.
    var replicas: ReplicaCount {
        let count = desired.load(ordering: .relaxed)
        return ReplicaCount(desired: count, available: count)
    }
    var instances: Int { desired.load(ordering: .relaxed) }
    var kind: String { "process" }
    var streaming: (any StreamingFunction)? { nil }

    func resize(to count: Int) { desired.store(max(0, count), ordering: .relaxed) }
    func waitUntilReady() async throws(InvokerError) {}
    func stop() async { resize(to: 0) }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        let guest = GuestRequest(stdin: settings.eventFormat.event(for: request), environment: environment + request.watchdogEnvironment,
                                 arguments: [name], outputLimit: outputLimit)
        let result = await processes.run(function, request: guest)
        // The classic watchdog's own lines around the process's stderr.
        return GuestAnswer.outcome(result, settings: settings, request: request, instance: "process",
                                   before: ["Forking fprocess: \(command)"],
                                   after: ["Wrote \(result.stdout.count) Bytes - Duration: \(String(format: "%.6f", result.duration)) seconds"])
    }
}
