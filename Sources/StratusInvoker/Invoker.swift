public import Foundation
public import Logging
import NIOCore
public import StratusModel
public import StratusProcess

/// Routes calls to deployed functions, whatever runs them: the table of deployed functions,
/// admission (`max_inflight` per replica, 429), scaling (by hand, by load, from and to zero) and
/// the per-call log, written once for every kind. `FunctionFactory` makes the functions.
public final class Invoker: Sendable {
    public let factory: FunctionFactory
    private let table = FunctionTable()
    private let aliases = AliasTable()
    private let logger: Logger
    /// Told when calls start and finish (metrics and invocation counts).
    private let observer: (any InvocationObserver)?

    public init(factory: FunctionFactory, logger: Logger, observer: (any InvocationObserver)? = nil) {
        self.factory = factory
        self.logger = logger
        self.observer = observer
    }

    /// The inference engine Wasm functions reach through WASI-NN, when this server has one.
    public var inference: (any InferenceBackend)? { factory.inference }

    // MARK: Deploys

    /// Makes `plan`'s function with its first replicas and, with `waitUntilReady`, waits until one
    /// can take calls (a failed start throws and leaves nothing running). Nothing is routed to it
    /// until `activate`: whatever was deployed under the name keeps serving meanwhile.
    public func prepare(_ plan: DeployPlan, waitUntilReady: Bool = true) async throws(InvokerError) -> PreparedFunction {
        let function = try await factory.make(plan)
        function.resize(to: plan.initialReplicas)
        if waitUntilReady {
            do { try await function.waitUntilReady() } catch {
                await function.stop()
                throw error
            }
        }
        return PreparedFunction(spec: plan.spec, settings: plan.settings, function: function, baseline: plan.initialReplicas)
    }

    /// Routes calls to `prepared` from now on; the version it replaces finishes its calls, then stops.
    public func activate(_ prepared: PreparedFunction) {
        let previous = table.swap(FunctionEntry(prepared, log: CallLog(spec: prepared.spec, sink: factory.logSink, logger: logger)))
        if let previous { Task { await previous.function.stop() } }
        let settings = prepared.settings
        logger.info("deployed", metadata: [
            "function": "\(prepared.spec.name)", "runtime": "\(prepared.spec.kind.rawValue)", "digest": "\(prepared.spec.artifact?.description ?? "-")",
            "timeout": "\(settings.timeout)s", "max_inflight": "\(settings.maxInflight.map(String.init) ?? "-")",
            "replicas": "\(prepared.baseline)",
        ])
    }

    /// `prepare`, then `activate`.
    public func deploy(_ plan: DeployPlan, waitUntilReady: Bool = true) async throws(InvokerError) {
        activate(try await prepare(plan, waitUntilReady: waitUntilReady))
    }

    /// The spec each deployed function was deployed from, by name (what a cluster node compares
    /// with the shared store).
    public func deployedSpecs() -> [FunctionName: FunctionSpec] {
        Dictionary(table.all.map { ($0.spec.name, $0.spec) }, uniquingKeysWith: { _, last in last })
    }

    /// Stops routing calls to `name` (a function: its published versions too); calls in flight finish,
    /// then its replicas stop.
    public func undeploy(_ name: FunctionName) {
        let (removed, inUse) = table.remove(name)
        factory.wasm.evict(except: inUse)
        for entry in removed { Task { await entry.function.stop() } }
    }

    // MARK: Aliases

    /// The aliases calls may name from now on (all of them, every function's).
    public func setAliases(_ all: [FunctionAlias]) { aliases.replace(all) }

    /// The aliases routed now.
    public var routedAliases: [FunctionAlias] { aliases.all }

    /// What a call to `name` with `callID` reaches: the function or version itself, or for an alias the
    /// version its weights pick for that call id. One dictionary look-up more for an alias; none otherwise.
    private func entry(_ name: FunctionName, callID: String) -> FunctionEntry? {
        guard name.isAlias else { return table[name] }
        return aliases.target(name, callID: callID).flatMap { table[$0] }
    }

    /// Stops every function's replicas (server shutdown); calls in flight finish first.
    public func stopAll() async {
        let all = table.all
        await withTaskGroup(of: Void.self) { group in
            for entry in all { group.addTask { await entry.function.stop() } }
        }
    }

    // MARK: Replicas

    /// Replicas wanted and ready; zero for both when `name` is not deployed.
    public func replicas(_ name: FunctionName) -> ReplicaCount {
        table[name]?.function.replicas ?? ReplicaCount(desired: 0, available: 0)
    }

    /// Warm instances parked (Wasm) or replicas ready.
    public func instances(_ name: FunctionName) -> Int { table[name]?.function.instances ?? 0 }

    /// Sets `name`'s replica count (clamped to `com.openfaas.scale.max`) and the autoscaler's floor;
    /// returns the count applied. Zero frees its replicas; the next call starts one again.
    public func scale(_ name: FunctionName, to count: Int) throws(InvokerError) -> Int {
        guard let entry = table[name] else { throw .functionNotFound(name) }
        let applied = min(max(count, 0), entry.settings.maxReplicas)
        entry.scaler.setBaseline(applied)
        entry.admission.touch()
        entry.function.resize(to: applied)
        return applied
    }

    /// One autoscaler step for every function (call about once a second).
    public func autoscaleTick() {
        let now = ContinuousClock.now
        for entry in table.all {
            let current = entry.function.desiredReplicas
            let signal = ReplicaScaler.Signal(current: current, inflight: entry.admission.inflight, completed: entry.admission.completed,
                                              idleSeconds: entry.admission.idleSeconds, now: now)
            guard let decision = entry.scaler.step(signal) else { continue }
            entry.function.resize(to: decision)
            let text = "scaled \(entry.spec.name) from \(current) to \(decision) replica\(decision == 1 ? "" : "s") (calls in flight: \(signal.inflight), idle \(Int(signal.idleSeconds))s)"
            factory.logSink?.record([LogLine(name: entry.spec.name.rawValue, namespace: entry.spec.namespace, instance: "autoscaler", text: text)])
        }
    }

    // MARK: Calls

    /// What a call to `name` with `callID` reaches (for an alias, the version its weights pick: pass
    /// that name on, so the call is routed once) and how it is made: its body buffered, or streamed
    /// (http mode, raw classic); `nil` when it is not deployed. One table look-up on every call's path.
    public func route(_ name: FunctionName, callID: String) -> (name: FunctionName, mode: CallMode)? {
        guard let entry = entry(name, callID: callID) else { return nil }
        return (entry.spec.name, entry.function.streaming == nil ? .buffered : .streamed)
    }

    public enum CallMode: Sendable {
        case buffered, streamed
    }

    /// What runs `name`, as users see it (`wasm`, `process`, `http`, `bootstrap`); `nil` when it is not deployed.
    public func kind(_ name: FunctionName) -> String? { table[name]?.function.kind }

    /// The Wasm engine running `name` (`wasmtime`, `wasmkit`); `nil` when it is not a deployed Wasm function.
    public func engine(_ name: FunctionName) -> String? { table[name]?.function.engine }

    /// The settings `name` was deployed with; `nil` when it is not deployed.
    public func settings(_ name: FunctionName, callID: String = "") -> FunctionSettings? { entry(name, callID: callID)?.settings }

    /// Runs one call of `name` with the whole body in hand. Over its limit, throws `.overloaded`.
    public func invoke(_ name: FunctionName, _ request: InvocationRequest) async throws(InvokerError) -> InvocationResult {
        guard let entry = entry(name, callID: request.callID) else { throw .functionNotFound(name) }
        try await admit(entry)
        defer { entry.admission.leave() }
        let outcome = await entry.function.call(request)
        entry.log.record(outcome, request: request)
        observer?.invocationFinished(entry.spec.name, status: outcome.answer.status, seconds: outcome.answer.duration, coldStart: outcome.coldStart)
        return outcome.answer
    }

    /// Streams one call to a function that takes streamed calls: `body` goes to its replica as it
    /// arrives and the answer comes back as it is written (`request.body` is ignored).
    public func forward(_ name: FunctionName, _ request: InvocationRequest, body: ChunkPipe,
                        contentLength: Int?) async throws(InvokerError) -> ProxyResponse {
        guard let entry = entry(name, callID: request.callID), let streaming = entry.function.streaming else { throw .functionNotFound(name) }
        try await admit(entry)
        let observer = observer
        // The call holds its slot until the answer has been sent.
        return await streaming.forward(request, body: body, contentLength: contentLength) { end in
            entry.ended(end, request: request, observer: observer)
        }
    }

    /// Starts a call of `name` that can be proxied without waiting for anything: an http-mode
    /// function with a free call slot and a ready replica now (the gateway then carries it on its
    /// event loop). `nil` otherwise: the call takes the ordinary path, which can wait and queue.
    public func startDirect(_ name: FunctionName, callID: String) -> DirectCall? {
        guard let entry = entry(name, callID: callID), let lease = entry.function.leasing?.lease() else { return nil }
        guard entry.admission.tryEnter(limit: entry.callLimit) else {
            lease.release()
            return nil
        }
        observer?.invocationStarted(entry.spec.name)
        return DirectCall(lease: lease, entry: entry, observer: observer)
    }

    /// Starts a call of `name` that can begin now without a task: a classic function taking the raw
    /// body, with a free call slot and a ready launcher (the gateway starts it from its event loop
    /// and writes the answer there). `nil` otherwise: the call takes the ordinary path.
    public func startImmediate(_ name: FunctionName, callID: String) -> ImmediateCall? {
        guard let entry = entry(name, callID: callID), let ticket = entry.function.immediate?.ticket() else { return nil }
        guard entry.admission.tryEnter(limit: entry.callLimit) else { return nil }
        observer?.invocationStarted(entry.spec.name)
        return ImmediateCall(ticket: ticket, entry: entry, observer: observer)
    }

    /// Takes a call slot (429 past the limit) and makes sure a replica is on its way.
    private func admit(_ entry: FunctionEntry) async throws(InvokerError) {
        let limit = entry.callLimit
        guard await entry.admission.enter(limit: limit, wait: entry.settings.queueWait) else {
            observer?.invocationFinished(entry.spec.name, status: 429, seconds: 0, coldStart: false)
            throw .overloaded(entry.spec.name, limit: limit ?? 0)
        }
        observer?.invocationStarted(entry.spec.name)
        entry.wakeIfScaledToZero()
    }
}

/// Told when calls start and end, for metrics: every call through `invoke` or `forward`, async ones too.
public protocol InvocationObserver: Sendable {
    func invocationStarted(_ name: FunctionName)
    /// `status` is what the caller got (429 when turned away); `coldStart` when a new instance or process served it.
    func invocationFinished(_ name: FunctionName, status: Int, seconds: Double, coldStart: Bool)
}

/// A call started by `Invoker.startImmediate`: its replica picked, its slot taken.
public struct ImmediateCall: Sendable {
    let ticket: any ImmediateTicket
    let entry: FunctionEntry
    let observer: (any InvocationObserver)?

    /// Runs the call (see `ImmediateTicket.start`); when it is over, the slot is free and the metrics
    /// and the function's log have it.
    public func start(_ request: InvocationRequest, body: ChunkPipe, onResponse: @escaping @Sendable (ProxyResponse) -> Void) {
        let entry = entry, observer = observer
        ticket.start(request, body: body, onResponse: onResponse) { end in entry.ended(end, request: request, observer: observer) }
    }
}

/// A call started by `Invoker.startDirect`: its replica, and the bookkeeping when it ends.
public struct DirectCall: Sendable {
    public let lease: ReplicaLease
    let entry: FunctionEntry
    let observer: (any InvocationObserver)?

    /// The call is over (call once): the replica and the call slot are free, and the metrics and the
    /// function's log have it.
    public func finish(_ end: ProxyCallEnd, request: InvocationRequest) {
        lease.release()
        entry.ended(end, request: request, observer: observer)
    }
}

extension FunctionEntry {
    /// A proxied or streamed call is over: its slot is free, and the metrics and the log have it.
    func ended(_ end: ProxyCallEnd, request: InvocationRequest, observer: (any InvocationObserver)?) {
        admission.leave()
        observer?.invocationFinished(spec.name, status: end.status, seconds: end.duration, coldStart: false)
        log.record(end, request: request)
    }
}
