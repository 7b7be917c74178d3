import Foundation
import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A custom-runtime function (`com.stratus.mode: bootstrap`): replicas of its `bootstrap`
/// executable, each with a runtime API of its own on a private loopback port (AWS Lambda Runtime
/// API and Tencent SCF custom runtime API, see `RuntimeAPIServer`). A replica handles one event
/// at a time, as in Lambda and SCF; when all are busy another is started, up to
/// `com.openfaas.scale.max`. Replicas that exit are restarted with backoff; one that misses a
/// call's deadline is killed and restarted.
public final class BootstrapFunction: Sendable {
    public let function: ProcessFunction
    let name: String
    private let replicas: ReplicaSet<BootstrapReplicaDriver>
    private let state = Mutex(State())
    /// Calls started and not finished (waiting for a replica or running).
    private let inflightCalls = Atomic<Int>(0)

    /// The callers waiting for a free replica.
    private struct State {
        /// Bumped whenever a replica may have become free; callers waiting for one sleep on it.
        var freeGeneration = 0
        var freeWaiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID = 0
    }

    init(function: ProcessFunction, name: String, environment: [(String, String)], sandbox: Sandbox?, bodyLimit: Int, log: @escaping ReplicaLogSink) {
        self.function = function
        self.name = name
        let reserved: Set<String> = ["AWS_LAMBDA_RUNTIME_API", "SCF_RUNTIME_API", "SCF_RUNTIME_API_PORT"]
        let free = FreeSignal()
        let command = ReplicaCommand(function: function, name: name, environment: environment.filter { !reserved.contains($0.0) },
                                     sandbox: sandbox, log: log)
        replicas = ReplicaSet(driver: BootstrapReplicaDriver(command: command, bodyLimit: bodyLimit, free: free))
        listen(to: free)
    }

    /// Callers waiting for a replica hear when one may be free.
    private func listen(to free: FreeSignal) {
        free.set { [weak self] in self?.signalFree() }
    }

    public var desiredReplicas: Int { replicas.desired }

    public var availableReplicas: Int { replicas.available }

    /// Calls in flight (running or waiting for a replica).
    public var inflight: Int { inflightCalls.load(ordering: .relaxed) }

    /// Starts or stops replicas until `count` run (clamped to the function's maximum).
    public func resize(to count: Int) { replicas.resize(to: count) }

    /// Stops every replica; calls in flight finish first (up to the function's timeout).
    public func stop() async {
        let stopping = Task { await replicas.stop() }
        signalFree()  // callers waiting for a replica learn that none will come
        await stopping.value
    }

    /// Waits until a replica finished initialising; throws with the reason when every first start
    /// failed (an init error, an exit, no `next` within the ready timeout).
    public func waitUntilReady() async throws(ProcessError) { try await replicas.waitUntilReady() }

    // MARK: Calls

    /// Runs one event through a free replica and waits for its outcome, up to the function's timeout.
    public func invoke(event: [UInt8], requestID: String) async -> BootstrapOutcome {
        inflightCalls.add(1, ordering: .relaxed)
        defer { inflightCalls.subtract(1, ordering: .relaxed) }
        let timeout = function.settings.timeout
        let invocation = BootstrapInvocation(id: requestID.isEmpty ? UUID().uuidString.lowercased() : requestID, event: event, timeout: timeout)
        let replica: BootstrapReplica
        switch await acquire(invocation) {
        case .success(let picked): replica = picked
        case .failure(let outcome): return outcome
        }
        let name = name
        let log = replicas.driver.log
        let timer = Task {
            try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
            if invocation.complete(.failed(status: 504, message: "function timed out after \(timeout)s")) {
                log(replica.instance, ["request \(invocation.id) missed its deadline (\(timeout)s): stopping the bootstrap of \(name)"])
                replica.kill()
            }
        }
        let outcome = await invocation.wait()
        timer.cancel()
        return outcome
    }

    private enum Acquired {
        case success(BootstrapReplica)
        case failure(BootstrapOutcome)
    }

    /// A free replica, given the invocation; starts another replica when all are busy (up to the
    /// maximum) and waits for one to free up until the timeout (the ready timeout, if longer).
    private func acquire(_ invocation: BootstrapInvocation) async -> Acquired {
        let settings = function.settings
        let deadline = ContinuousClock.now + .seconds(max(settings.timeout, settings.readyTimeout))
        while true {
            // The generation first: a replica freed after this look wakes the wait below at once.
            let generation = state.withLock { $0.freeGeneration }
            let (running, stopped, desired) = replicas.rotated()
            for replica in running where replica.tryAssign(invocation) { return Acquired.success(replica) }
            if stopped { return Acquired.failure(.failed(status: 503, message: "function '\(name)' was removed or replaced")) }
            // Slots without a ready replica are on their way; every ready one is busy.
            let ready = running.count { $0.isReady }
            let starting = desired - ready
            let waiting = inflight - ready
            if desired > 0 && waiting > starting && desired < settings.maxReplicas {
                // Scale out at once: more calls wait than replicas are on their way (Lambda's concurrency).
                replicas.resize(to: desired + 1)
            }
            if ContinuousClock.now > deadline {
                let why = replicas.lastFailure.map { ": \($0)" } ?? " (all \(desired) busy)"
                return Acquired.failure(.failed(status: 503, message: "no replica of '\(name)' could take the call within \(Int(max(settings.timeout, settings.readyTimeout)))s\(why)"))
            }
            // Woken when a replica answers or becomes ready; the limit covers replicas that start or stop.
            await waitForFree(since: generation, limit: .milliseconds(50))
        }
    }

    /// Wakes the callers waiting for a free replica (they look again; one of them gets it).
    func signalFree() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.freeGeneration &+= 1
            defer { state.freeWaiters = [] }
            return state.freeWaiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until a replica may have become free since `generation`, or `limit` passed.
    private func waitForFree(since generation: Int, limit: Duration) async {
        let id = state.withLock { state -> Int in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.freeWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.freeWaiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.freeGeneration != generation { return true }
                state.freeWaiters.append((id, continuation))
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
    }
}

/// Tells a bootstrap function that one of its replicas may be free; set once the function exists.
///
/// The closure sits in a class of its own: a closure kept as a `Mutex`'s value comes back from
/// each `withLock` wrapped in two more reabstraction thunks (the inout access converts it in and
/// out), so calling it got slower with every call (measured: Lambda-style throughput at 16
/// connections fell from 2.3k to under 1k req/s within seconds).
final class FreeSignal: Sendable {
    private final class Target: Sendable {
        let call: @Sendable () -> Void
        init(_ call: @escaping @Sendable () -> Void) { self.call = call }
    }

    private let target = Mutex<Target?>(nil)

    func set(_ call: @escaping @Sendable () -> Void) { target.withLock { $0 = Target(call) } }

    func callAsFunction() { target.withLock { $0 }?.call() }
}

/// How a custom-runtime replica starts (a runtime API server on a private port, then the bootstrap
/// told where it is) and when it is ready (its first `next`, or SCF's `init/ready`).
struct BootstrapReplicaDriver: ReplicaDriver {
    let command: ReplicaCommand
    /// Largest response or error body a bootstrap may post.
    let bodyLimit: Int
    let free: FreeSignal
    var noun: String { "bootstrap" }

    func launch(instance: String) async -> Result<(BootstrapReplica, ReplicaProcess), SpawnFailure> {
        let free = free
        let replica = BootstrapReplica(instance: instance, functionName: name, settings: settings, onFree: { free() })
        let port: Int
        let server: RuntimeAPIServer
        do {
            port = try PortLedger.shared.take()
            do {
                server = try await RuntimeAPIServer.start(port: port, replica: replica, bodyLimit: bodyLimit)
            } catch {
                PortLedger.shared.release(port)
                throw error
            }
        } catch {
            return .failure(SpawnFailure(text: "cannot serve the runtime API on a loopback port: \(error)"))
        }
        replica.attach(server: server, port: port)
        switch await command.launch(instance: instance, variables: runtimeVariables(port: port)) {
        case .success(let process):
            replica.attach(process)
            return .success((replica, process))
        case .failure(let failure):
            release(replica)
            return .failure(failure)
        }
    }

    /// Ready once the bootstrap initialised (first `next`, or SCF's `init/ready`) within the ready timeout.
    func waitUntilReady(_ replica: BootstrapReplica, process: ReplicaProcess, cancelled: @escaping @Sendable () -> Bool) async -> Readiness {
        await pollReadiness(timedOut: "its bootstrap did not ask for an event (GET /runtime/invocation/next) or report ready (POST /runtime/init/ready) within \(settings.readyTimeout)s") {
            if replica.initialised { return .ready }
            if let failure = replica.initFailure { return .stuck("its bootstrap reported an \(failure)") }
            return process.hasExited || cancelled() ? .gone : nil
        }
    }

    func failure(_ replica: BootstrapReplica, how: String, wasReady: Bool) -> String {
        wasReady ? "its bootstrap \(how)" : "its bootstrap \(how) before it was ready (see `stratus logs \(name)`)"
    }

    func release(_ replica: BootstrapReplica) {
        guard let (server, port) = replica.detachServer() else { return }
        server.close()
        PortLedger.shared.release(port)
    }

    /// The variables a bootstrap finds: where its runtime API is, and the function's description
    /// in both clouds' names.
    func runtimeVariables(port: Int) -> [(String, String)] {
        let own = Dictionary(command.environment, uniquingKeysWith: { _, last in last })
        let directory = command.function.directory
        let root = command.sandbox != nil && directory != nil ? Sandbox.functionPath : (directory?.path ?? FileManager.default.temporaryDirectory.path)
        let memory = String(settings.memoryLimit / (1024 * 1024))
        var variables: [(String, String)] = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:\(port)"),
            ("SCF_RUNTIME_API", "127.0.0.1"),
            ("SCF_RUNTIME_API_PORT", String(port)),
        ]
        let defaults: [(String, String)] = [
            ("_HANDLER", "index.main_handler"),
            ("LAMBDA_TASK_ROOT", root), ("LAMBDA_RUNTIME_DIR", root), ("USER_CODE_ROOT", root),
            ("AWS_LAMBDA_FUNCTION_NAME", name), ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory), ("AWS_REGION", "local"), ("AWS_DEFAULT_REGION", "local"),
            ("SCF_FUNCTIONNAME", name), ("SCF_FUNCTIONVERSION", "$LATEST"), ("SCF_NAMESPACE", "default"),
            ("TENCENTCLOUD_RUNENV", "SCF"),
        ]
        for (key, value) in defaults where own[key] == nil { variables.append((key, value)) }
        return variables
    }
}
