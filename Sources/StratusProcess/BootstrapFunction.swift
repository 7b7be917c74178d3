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
    private let state = Mutex(State())
    /// Calls started and not finished (waiting for a replica or running).
    private let inflightCalls = Atomic<Int>(0)
    private let lastActivity = Atomic<Int64>(0)

    private struct State {
        var desired = 0
        var slots: [Slot] = []
        var stopped = false
        var lastFailure: String?
        var failedStarts = 0
        var turn = 0
        var baseline = 0
        var belowSince: ContinuousClock.Instant?
        /// Bumped whenever a replica may have become free; callers waiting for one sleep on it.
        var freeGeneration = 0
        var freeWaiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiterID = 0
    }

    private final class Slot: Sendable {
        let index: Int
        let cancelled = Atomic<Bool>(false)
        let current = Mutex<BootstrapReplica?>(nil)
        init(index: Int) { self.index = index }
    }

    init(function: ProcessFunction, name: String, environment: [(String, String)], sandbox: Sandbox?, bodyLimit: Int, log: @escaping ReplicaLogSink) {
        self.function = function
        self.name = name
        self.sandbox = sandbox
        self.log = log
        self.bodyLimit = bodyLimit
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

    public var desiredReplicas: Int { state.withLock { $0.desired } }

    public var availableReplicas: Int {
        state.withLock { state in state.slots.count { slot in slot.current.withLock { $0?.isReady ?? false } } }
    }

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
        let target = min(max(count, 0), function.settings.maxReplicas)
        let (added, removed) = state.withLock { state -> ([Slot], [Slot]) in
            guard !state.stopped else { return ([], []) }
            state.desired = target
            var added: [Slot] = []
            while state.slots.count < target {
                let next = (state.slots.map(\.index).max() ?? 0) + 1
                let slot = Slot(index: next)
                state.slots.append(slot)
                added.append(slot)
            }
            let removed = Array(state.slots.dropFirst(target))
            state.slots.removeLast(state.slots.count - target)
            return (added, removed)
        }
        for slot in removed { Task { await retire(slot) } }
        for slot in added { Task { await supervise(slot) } }
    }

    /// Stops every replica; calls in flight finish first (up to the function's timeout).
    public func stop() async {
        let slots = state.withLock { state -> [Slot] in
            state.stopped = true
            state.desired = 0
            defer { state.slots = [] }
            return state.slots
        }
        await withTaskGroup(of: Void.self) { group in
            for slot in slots { group.addTask { await self.retire(slot) } }
        }
    }

    /// Waits until a replica finished initialising; throws with the reason when every first start
    /// failed (an init error, an exit, no `next` within the ready timeout).
    public func waitUntilReady() async throws(ProcessError) {
        let deadline = ContinuousClock.now + .seconds(function.settings.readyTimeout * 2 + 10)
        while true {
            if availableReplicas > 0 { return }
            let (failed, desired, reason) = state.withLock { ($0.failedStarts, $0.desired, $0.lastFailure) }
            if desired == 0 { return }
            if failed >= desired || ContinuousClock.now > deadline {
                throw .notReady(reason ?? "no bootstrap became ready within \(function.settings.readyTimeout)s")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: Supervision

    private func supervise(_ slot: Slot) async {
        var backoff = 0.1
        while !slot.cancelled.load(ordering: .relaxed) {
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
            if slot.cancelled.load(ordering: .relaxed) { process.signal(SIGKILL) }
            let ready = await waitForInit(replica, process: process, slot: slot)
            var timedOut = false
            if ready {
                state.withLock { state in
                    state.failedStarts = 0
                    state.lastFailure = nil
                }
            } else if !process.hasExited && !slot.cancelled.load(ordering: .relaxed) && replica.initFailure == nil {
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
            if slot.cancelled.load(ordering: .relaxed) { break }
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
            if process.hasExited || slot.cancelled.load(ordering: .relaxed) || replica.initFailure != nil { return false }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 20)
        }
        return replica.isReady
    }

    private func record(failure: String, countsAsFailedStart: Bool = true) {
        state.withLock { state in
            state.lastFailure = failure
            if countsAsFailedStart { state.failedStarts += 1 }
        }
    }

    private func pause(_ seconds: Double, _ slot: Slot) async {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end, !slot.cancelled.load(ordering: .relaxed) {
            try? await Task.sleep(for: .milliseconds(20))
        }
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
            let (replicas, stopped, desired, generation) = state.withLock { state -> ([BootstrapReplica], Bool, Int, Int) in
                state.turn = (state.turn + 1) % 1_000_000
                let all = state.slots.compactMap { slot in slot.current.withLock { $0 } }
                let start = all.isEmpty ? 0 : state.turn % all.count
                return (Array(all[start...] + all[..<start]), state.stopped, state.desired, state.freeGeneration)
            }
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
                let why = state.withLock { $0.lastFailure }.map { ": \($0)" } ?? " (all \(desired) busy)"
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
        let current = state.withLock { state -> Int in
            guard !state.stopped else { return state.desired }
            if state.desired > max(state.baseline, 1) && load < state.desired {
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
            return state.desired
        }
        let idle = Double(Int64(DispatchTime.now().uptimeNanoseconds) - lastActivity.load(ordering: .relaxed)) / 1e9
        if settings.scaleToZero, current > 0, load == 0, idle >= settings.zeroDuration { decision = 0 }
        guard let decision, decision != current else { return }
        resize(to: decision)
        log("autoscaler", ["scaled \(name) from \(current) to \(decision) replica\(decision == 1 ? "" : "s") (calls in flight: \(load), idle \(Int(idle))s)"])
    }
}
