import CStratusWasmtime
import Foundation
import StratusModel
import Synchronization

/// A Wasm function run by Wasmtime: compiled code, and a fresh instance for every call.
///
/// An instance comes from the module's instance-pre through the pooling allocator, whose linear
/// memories are copy-on-write images of the module's data: making one costs about 20 µs, less than
/// restoring a snapshot of memory, and a call can leave nothing behind for the next. Its replicas
/// are therefore only a count: every replica is ready as soon as the code is compiled.
final class WasmtimeFunction: EngineFunction {
    let module: WasmtimeModule
    let settings: FunctionSettings
    private let engine: WasmtimeEngine
    private let secrets: [String: [UInt8]]
    private let layers: URL?
    private let models: FunctionModels
    private let desired = Atomic<Int>(1)
    /// Whether the next call is the first since deploy or since a scale to zero.
    private let cold = Atomic<Bool>(true)
    private let inlineAllowed = Atomic<Bool>(true)
    /// Whether the module calls host work (inference, images): never inline, not even as a probe.
    private let hostWork: Bool
    /// Calls since inline runs were turned off: every `probeEvery`th tries inline again.
    private let sinceDemotion = Atomic<Int>(0)
    /// The inline rule measures wall time, and a call the OS preempted for a millisecond under load
    /// looks as slow as a slow guest. So a function sent to the guest threads tries inline again now
    /// and then: a probe that finishes within the budget turns inline runs back on; one that does not
    /// costs at most one epoch tick (5 ms) in this many calls.
    static let probeEvery = 1024
    /// Host contexts of finished calls, kept for their buffers and preopens.
    private let contexts = Mutex<[HostContext]>([])
    private let deadline: UInt64

    init(module: WasmtimeModule, prepared: PreparedModule, settings: FunctionSettings, engine: WasmtimeEngine, secrets: [String: [UInt8]],
         layers: URL?, models: FunctionModels) {
        self.module = module
        self.settings = settings
        self.engine = engine
        self.secrets = secrets
        self.layers = layers
        self.models = models
        deadline = EpochTicker.ticks(seconds: settings.timeout)
        hostWork = prepared.usesHostWork
        if hostWork { inlineAllowed.store(false, ordering: .relaxed) }
    }

    /// Makes and drops one instance, so a module that cannot be instantiated (its start function
    /// traps, its memory is over the cap) fails at deploy.
    func prewarm() throws(WasmError) {
        let context = takeContext()
        defer { giveBack(context) }
        var error = [CChar](repeating: 0, count: 2048)
        var instance: OpaquePointer?
        guard stw_instance_new(module.handle, Unmanaged.passUnretained(context).toOpaque(), Int64(settings.memoryLimit), deadline,
                               &instance, &error, error.count) == STW_OK
        else { throw .instantiationFailed(cMessage(error)) }
        stw_instance_free(instance)
        cold.store(false, ordering: .relaxed)
    }

    private func takeContext() -> HostContext {
        if let context = contexts.withLock({ $0.popLast() }) { return context }
        let io = GuestIO()
        if !secrets.isEmpty { io.files.addPreopen(path: WarmInstance.secretsPath, source: .memory(secrets)) }
        if let layers { io.files.addPreopen(path: WarmInstance.layersPath, source: .folder(layers)) }
        return HostContext(io: io, models: models)
    }

    private func giveBack(_ context: HostContext) {
        context.clear()
        contexts.withLock { pool in
            if pool.count < 8 { pool.append(context) }
        }
    }

    /// An inline call gets one epoch tick (at most 5 ms); one that needs more runs again on a guest thread.
    func callInline(_ request: GuestRequest) -> GuestResult? {
        let probe = !inlineAllowed.load(ordering: .relaxed)
        if probe {
            guard !hostWork, sinceDemotion.wrappingAdd(1, ordering: .relaxed).newValue % Self.probeEvery == 0 else { return nil }
        }
        let begin = ContinuousClock.now
        let (result, interrupted) = run(request, ticks: 1, begin: begin)
        if interrupted {
            // Stopped by the tick budget: a guest that ran for a millisecond or more is sent to the
            // guest threads from now on; a tick that merely fell inside a short call changes nothing.
            if begin.duration(to: .now) >= .milliseconds(1) { demote() }
            return nil
        }
        if probe && begin.duration(to: .now) < .milliseconds(1) { inlineAllowed.store(true, ordering: .relaxed) }
        return result
    }

    func demote() {
        sinceDemotion.store(0, ordering: .relaxed)
        inlineAllowed.store(false, ordering: .relaxed)
    }

    var runsInline: Bool { inlineAllowed.load(ordering: .relaxed) }

    func call(_ request: GuestRequest) -> GuestResult {
        let begin = ContinuousClock.now
        let result = run(request, ticks: deadline, begin: begin).result
        // A call that needs a millisecond or more keeps to the guest threads (until a probe says
        // otherwise), whether or not its inline attempt happened to be stopped late enough to tell.
        if begin.duration(to: .now) >= .milliseconds(1), inlineAllowed.load(ordering: .relaxed) { demote() }
        return result
    }

    /// Runs `_start` in a new instance with a deadline of `ticks`; `interrupted` when the deadline stopped it.
    private func run(_ request: GuestRequest, ticks: UInt64, begin: ContinuousClock.Instant) -> (result: GuestResult, interrupted: Bool) {
        let wasCold = cold.exchange(false, ordering: .relaxed)
        let context = takeContext()
        defer { giveBack(context) }
        context.io.reset(stdin: request.stdin, environment: request.environment, arguments: request.arguments, outputLimit: request.outputLimit)
        engine.ticker.begin()
        defer { engine.ticker.end() }
        var instance: OpaquePointer?
        guard stw_instance_new(module.handle, Unmanaged.passUnretained(context).toOpaque(), Int64(settings.memoryLimit), ticks,
                               &instance, &context.errorText, context.errorText.count) == STW_OK
        else {
            let why = cMessage(context.errorText)
            return (GuestResult(outcome: .failed("cannot instantiate the module: \(why)"), stdout: [], stderr: [],
                                duration: begin.duration(to: .now).seconds, coldStart: wasCold), false)
        }
        defer { stw_instance_free(instance) }
        var exitCode: Int32 = 0
        var trapCode: UInt8 = 0
        let status = stw_instance_run(instance, ticks, &exitCode, &trapCode, &context.errorText, context.errorText.count)
        let outcome: GuestOutcome
        switch Int(status) {
        case Int(STW_RUN_RETURNED): outcome = .exited(0)
        case Int(STW_RUN_EXITED): outcome = .exited(exitCode)
        case Int(STW_RUN_INTERRUPTED): outcome = .timedOut
        default: outcome = .trapped(cMessage(context.errorText))
        }
        let result = GuestResult(outcome: outcome, stdout: context.io.stdout, stderr: context.io.stderr,
                                 duration: begin.duration(to: .now).seconds, coldStart: wasCold)
        return (result, status == STW_RUN_INTERRUPTED)
    }

    var warmInstances: Int { desired.load(ordering: .relaxed) }
    var desiredReplicas: Int { desired.load(ordering: .relaxed) }
    var availableReplicas: Int { desired.load(ordering: .relaxed) }

    func resize(to count: Int) -> Int {
        desired.store(max(count, 0), ordering: .relaxed)
        if count <= 0 {
            cold.store(true, ordering: .relaxed)
            contexts.withLock { $0.removeAll() }
        }
        return 0
    }
}
