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
    let environment: [(String, String)]
    let sandbox: Sandbox?
    let log: ReplicaLogSink
    /// Largest response or error body a bootstrap may post.
    let bodyLimit: Int
    private let slots: ReplicaSlots<BootstrapReplica>
    private let state = Mutex(State())
    /// Calls started and not finished (waiting for a replica or running).
    private let inflightCalls = Atomic<Int>(0)
    private let lastActivity = Atomic<Int64>(0)

    /// The autoscaler's memory and the callers waiting for a free replica.
    private struct State {
        var baseline = 0
        var belowSince: ContinuousClock.Instant?
        /// Bumped whenever a replica may have become free; callers waiting for one sleep on it.
        var freeGeneration = 0
        var freeWaiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID = 0
    }

    private typealias Slot = ReplicaSlots<BootstrapReplica>.Slot

    init(function: ProcessFunction, name: String, environment: [(String, String)], sandbox: Sandbox?, bodyLimit: Int, log: @escaping ReplicaLogSink) {
        self.function = function
        self.name = name
        self.sandbox = sandbox
        self.log = log
        self.bodyLimit = bodyLimit
        slots = ReplicaSlots(limit: function.settings.maxReplicas)
        let reserved: Set<String> = ["AWS_LAMBDA_RUNTIME_API", "SCF_RUNTIME_API", "SCF_RUNTIME_API_PORT"]
        self.environment = environment.filter { !reserved.contains($0.0) }
    }

    /// The variables a bootstrap finds: where its runtime API is, and the function's description
    /// in both clouds' names.
    func runtimeVariables(port: Int) -> [(String, String)] {
        let own = Dictionary(environment, uniquingKeysWith: { _, last in last })
        let root = sandbox != nil && function.directory != nil ? Sandbox.functionPath : (function.directory?.path ?? FileManager.default.temporaryDirectory.path)
        let memory = String(function.settings.memoryLimit / (1024 * 1024))
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

    public var desiredReplicas: Int { slots.desired }

    public var availableReplicas: Int { slots.replicas.count { $0.isReady } }

    /// Calls in flight (running or waiting for a replica).
    public var inflight: Int { inflightCalls.load(ordering: .relaxed) }

    /// Sets the replica count the autoscaler never goes below, and starts or stops replicas to match.
    public func scale(to count: Int) {
        state.withLock { $0.baseline = min(max(count, 0), function.settings.maxReplicas) }
        resize(to: count)
        touch()
    }

    private func touch() {
        lastActivity.store(Int64(DispatchTime.now().uptimeNanoseconds), ordering: .relaxed)
    }

    private func resize(to count: Int) {
        let (added, removed) = slots.resize(to: count)
        for slot in removed { Task { await retire(slot) } }
        for slot in added { Task { await supervise(slot) } }
    }

    /// Stops every replica; calls in flight finish first (up to the function's timeout).
    public func stop() async {
        let all = slots.stopAll()
        signalFree()  // callers waiting for a replica learn that none will come
        await withTaskGroup(of: Void.self) { group in
            for slot in all { group.addTask { await self.retire(slot) } }
        }
    }

    /// Waits until a replica finished initialising; throws with the reason when every first start
    /// failed (an init error, an exit, no `next` within the ready timeout).
    public func waitUntilReady() async throws(ProcessError) {
        try await slots.waitUntilReady(readyTimeout: function.settings.readyTimeout, available: { availableReplicas },
                                       whatFailed: "no bootstrap became ready")
    }

    // MARK: Supervision

    private func supervise(_ slot: Slot) async {
        var backoff = 0.1
        while !slot.isCancelled {
            let instance = "\(name)-\(slot.index)"
            let replica = BootstrapReplica(instance: instance, functionName: name, settings: function.settings,
                                           onFree: { [weak self] in self?.signalFree() })
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
                record(failure: "cannot serve the runtime API on a loopback port: \(error)")
                await pause(backoff, slot)
                backoff = min(backoff * 2, 30)
                continue
            }
            let started = ContinuousClock.now
            let launched = await ReplicaProcess.launch(function, sandbox: sandbox, environment: environment + runtimeVariables(port: port),
                                                       instance: instance, log: log)
            guard case .success(let process) = launched else {
                server.close()
                PortLedger.shared.release(port)
                if case .failure(let failure) = launched { record(failure: failure.text) }
                await pause(backoff, slot)
                backoff = min(backoff * 2, 30)
                continue
            }
            replica.attach(process)
            slot.current.withLock { $0 = replica }
            if slot.isCancelled { process.signal(SIGKILL) }
            let ready = await waitForInit(replica, process: process, slot: slot)
            var timedOut = false
            if ready {
                slots.started()
            } else if !process.hasExited && !slot.isCancelled && replica.initFailure == nil {
                timedOut = true
                record(failure: "its bootstrap did not ask for an event (GET /runtime/invocation/next) or report ready (POST /runtime/init/ready) within \(function.settings.readyTimeout)s")
                process.signal(SIGKILL)
            }
            let status = await process.exitStatus()
            let how = HTTPFunction.describe(status)
            replica.markDead(how)
            slot.current.withLock { $0 = nil }
            server.close()
            PortLedger.shared.release(port)
            if slot.isCancelled { break }
            if ready {
                record(failure: "its bootstrap \(how)", countsAsFailedStart: false)
            } else if let failure = replica.initFailure {
                record(failure: "its bootstrap reported an \(failure)")
            } else if !timedOut {
                record(failure: "its bootstrap \(how) before it was ready (see `stratus logs \(name)`)")
            }
            if started.duration(to: .now) > .seconds(30) { backoff = 0.1 }
            log(instance, ["bootstrap \(how); restarting in \(String(format: "%.1f", backoff))s"])
            await pause(backoff, slot)
            backoff = min(backoff * 2, 30)
        }
    }

    /// Whether the replica initialises (first `next`, or SCF's `init/ready`) within the ready timeout.
    private func waitForInit(_ replica: BootstrapReplica, process: ReplicaProcess, slot: Slot) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(function.settings.readyTimeout)
        var wait = 1
        while ContinuousClock.now < deadline {
            if replica.isReady { return true }
            if process.hasExited || slot.isCancelled || replica.initFailure != nil { return false }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 20)
        }
        return replica.isReady
    }

    private func record(failure: String, countsAsFailedStart: Bool = true) {
        slots.record(failure: failure, countsAsFailedStart: countsAsFailedStart)
    }

    private func pause(_ seconds: Double, _ slot: Slot) async {
        await ReplicaSlots<BootstrapReplica>.pause(seconds, slot)
    }

    /// Ends a slot's replica once its call in flight is done (up to the timeout).
    private func retire(_ slot: Slot) async {
        slot.cancelled.store(true, ordering: .relaxed)
        guard let replica = slot.current.withLock({ $0 }) else { return }
        let drain = ContinuousClock.now + .seconds(function.settings.timeout)
        while !replica.isFree, replica.isReady, ContinuousClock.now < drain {
            try? await Task.sleep(for: .milliseconds(20))
        }
        replica.kill()
        while slot.current.withLock({ $0 }) != nil { try? await Task.sleep(for: .milliseconds(10)) }
    }

    // MARK: Calls

    /// Runs one event through a free replica and waits for its outcome, up to the function's timeout.
    public func invoke(event: [UInt8], requestID: String) async -> BootstrapOutcome {
        inflightCalls.add(1, ordering: .relaxed)
        defer { inflightCalls.subtract(1, ordering: .relaxed) }
        touch()
        let timeout = function.settings.timeout
        let invocation = BootstrapInvocation(id: requestID.isEmpty ? UUID().uuidString.lowercased() : requestID, event: event, timeout: timeout)
        let replica: BootstrapReplica
        switch await acquire(invocation) {
        case .success(let picked): replica = picked
        case .failure(let outcome): return outcome
        }
        let name = name
        let log = log
        let timer = Task {
            try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
            if invocation.complete(.failed(status: 504, message: "function timed out after \(timeout)s")) {
                log(replica.instance, ["request \(invocation.id) missed its deadline (\(timeout)s): stopping the bootstrap of \(name)"])
                replica.kill()
            }
        }
        let outcome = await invocation.wait()
        timer.cancel()
        touch()
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
            let (replicas, stopped, desired) = slots.rotated()
            for replica in replicas where replica.tryAssign(invocation) { return Acquired.success(replica) }
            if stopped { return Acquired.failure(.failed(status: 503, message: "function '\(name)' was removed or replaced")) }
            // Slots without a ready replica are on their way; every ready one is busy.
            let ready = replicas.count { $0.isReady }
            let starting = desired - ready
            let waiting = inflight - ready
            if desired == 0 || (waiting > starting && desired < settings.maxReplicas) {
                // Scale from zero, or out: more calls wait than replicas are on their way.
                resize(to: desired + 1)
            }
            if ContinuousClock.now > deadline {
                let why = slots.lastFailure.map { ": \($0)" } ?? " (all \(desired) busy)"
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

    /// One autoscaler step: replicas above the baseline go after the calls wanted fewer for
    /// `com.stratus.scale.down-delay`; with `com.openfaas.scale.zero`, all go after the idle time.
    public func autoscaleTick() {
        let settings = function.settings
        let now = ContinuousClock.now
        let load = inflight
        if load > 0 { touch() }
        var decision: Int?
        let (desired, stopped) = (slots.desired, slots.isStopped)
        let current = state.withLock { state -> Int in
            guard !stopped else { return desired }
            if desired > max(state.baseline, 1) && load < desired {
                if let since = state.belowSince {
                    if since.duration(to: now) >= .seconds(settings.scaleDownDelay) {
                        decision = max(state.baseline, load, 1)
                        state.belowSince = nil
                    }
                } else {
                    state.belowSince = now
                }
            } else {
                state.belowSince = nil
            }
            return desired
        }
        let idle = Double(Int64(DispatchTime.now().uptimeNanoseconds) - lastActivity.load(ordering: .relaxed)) / 1e9
        if settings.scaleToZero, current > 0, load == 0, idle >= settings.zeroDuration { decision = 0 }
        guard let decision, decision != current else { return }
        resize(to: decision)
        log("autoscaler", ["scaled \(name) from \(current) to \(decision) replica\(decision == 1 ? "" : "s") (calls in flight: \(load), idle \(Int(idle))s)"])
    }
}
