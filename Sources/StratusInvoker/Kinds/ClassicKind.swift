import Foundation
import StratusModel
import StratusProcess
import Synchronization

/// A classic-watchdog function: a process per call, body on stdin, answer on stdout. A replica is
/// a unit of capacity (each admits `max_inflight` calls); it has no process of its own between calls.
final class ClassicKind: DeployedFunction {
    let function: ProcessFunction
    let processes: ProcessRuntime
    let guest: GuestCall
    /// The command as deployed (`fprocess`), for the log.
    let command: String
    private let desired = Atomic<Int>(0)

    init(function: ProcessFunction, processes: ProcessRuntime, guest: GuestCall, command: String) {
        self.function = function
        self.command = command
        self.processes = processes
        self.guest = guest
    }

    var kind: String { "process" }
    /// Every replica wanted is ready: starting one needs no process.
    var replicas: ReplicaCount {
        let count = desired.load(ordering: .relaxed)
        return ReplicaCount(desired: count, available: count)
    }
    var instances: Int { desired.load(ordering: .relaxed) }
    var streaming: (any StreamingFunction)? { nil }

    func resize(to count: Int) { desired.store(max(0, count), ordering: .relaxed) }
    func waitUntilReady() async throws(InvokerError) {}
    func stop() async { resize(to: 0) }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        let result = await processes.run(function, request: guest.request(for: request))
        // The classic watchdog's own lines around the process's stderr.
        return GuestAnswer.outcome(result, settings: guest.settings, request: request, instance: "process",
                                   before: ["Forking fprocess: \(command)"],
                                   after: ["Wrote \(result.stdout.count) Bytes - Duration: \(String(format: "%.6f", result.duration)) seconds"])
    }
}
