import Foundation
import StratusInvoker
import StratusModel
import Synchronization

/// A deployed function with no runtime behind it: replicas are numbers, calls answer at once or
/// wait on a gate, so the invoker's shared parts can be driven exactly.
final class FakeFunction: DeployedFunction {
    struct State {
        var desired = 0
        var resizes: [Int] = []
        var calls = 0
        var stopped = false
        var gateOpen = true
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let state = Mutex(State())
    let answer: String

    init(answer: String = "fake") { self.answer = answer }

    var replicas: ReplicaCount {
        let desired = state.withLock { $0.desired }
        return ReplicaCount(desired: desired, available: desired)
    }
    var desiredReplicas: Int { desired }
    var instances: Int { replicas.available }
    var kind: String { "fake" }
    var streaming: (any StreamingFunction)? { nil }

    func resize(to count: Int) {
        state.withLock { state in
            state.desired = count
            state.resizes.append(count)
        }
    }

    func waitUntilReady() async throws(InvokerError) {}

    func stop() async { state.withLock { $0.stopped = true } }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                state.calls += 1
                if !state.gateOpen { state.waiting.append(continuation) }
                return state.gateOpen
            }
            if open { continuation.resume() }
        }
        let body = Array(answer.utf8)
        return CallOutcome(answer: InvocationResult(status: 200, body: body, duration: 0.001), instance: "fake")
    }

    /// Holds calls until `open()`.
    func close() { state.withLock { $0.gateOpen = false } }

    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.gateOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in waiting { waiter.resume() }
    }

    var calls: Int { state.withLock { $0.calls } }
    var desired: Int { state.withLock { $0.desired } }
    var stopped: Bool { state.withLock { $0.stopped } }
}

/// Collects the log lines the invoker writes.
final class CollectedLog: FunctionLogSink {
    private let lines = Mutex<[LogLine]>([])
    func record(_ new: [LogLine]) { lines.withLock { $0 += new } }
    var all: [LogLine] { lines.withLock { $0 } }
}
