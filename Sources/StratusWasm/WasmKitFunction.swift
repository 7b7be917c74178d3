import Foundation
public import StratusModel
import Synchronization
import WasmKit

/// A Wasm function run by WasmKit: its module, its limits, and a pool of warm instances.
///
/// Its replicas are warm instances: scaled to N it keeps N instances made (parked or running a
/// call), and parks up to `max(N, maxIdle)` between calls; scaled to zero it frees them all, and
/// the next call makes one (a cold start).
final class WasmKitFunction: EngineFunction {
    let module: PreparedModule
    let settings: FunctionSettings
    private let engine: Engine
    private let watchdog: Watchdog
    private let idle = Mutex<[WarmInstance]>([])
    private let maxIdle: Int
    /// Replicas wanted: instances kept made.
    private let desired = Atomic<Int>(1)
    /// Instances that exist now, parked or running a call.
    private let live = Atomic<Int>(0)
    /// Files of the read-only directory preopened at `/var/openfaas/secrets`.
    private let secrets: [String: [UInt8]]
    /// The host folder preopened read-only at `/opt` (the function's layers), if any.
    private let layers: URL?
    /// Models it may run through WASI-NN.
    private let models: FunctionModels
    /// Whether calls may run on the caller's thread (see `callInline`); cleared for good once one
    /// outruns the inline budget.
    private let inlineAllowed = Atomic<Bool>(true)
    /// Fuel an inline call may burn (about a millisecond in a release build) before it is moved.
    static let inlineFuel: UInt64 = 500_000

    init(module: PreparedModule, settings: FunctionSettings, engine: Engine, watchdog: Watchdog, maxIdle: Int, secrets: [String: [UInt8]],
         layers: URL? = nil, models: FunctionModels = .none) {
        self.secrets = secrets
        self.layers = layers
        self.models = models
        // Host calls such as inference run outside the fuel budget: never on the request's thread.
        if module.usesHostWork { inlineAllowed.store(false, ordering: .relaxed) }
        self.module = module
        self.watchdog = watchdog
        self.settings = settings
        self.engine = engine
        self.maxIdle = maxIdle
    }

    /// Creates an instance now so the next call finds one ready.
    func prewarm() throws(WasmError) {
        guard maxIdle > 0 else { return }
        let instance = try makeInstance()
        park(instance)
    }

    private func makeInstance() throws(WasmError) -> WarmInstance {
        let instance = try WarmInstance(module: module, engine: engine, memoryLimit: settings.memoryLimit, secrets: secrets, layers: layers, models: models)
        live.add(1, ordering: .relaxed)
        return instance
    }

    /// Parks `instance` for the next call, or lets it go when the pool is full.
    private func park(_ instance: WarmInstance) {
        let wanted = desired.load(ordering: .relaxed)
        // Pooling off (maxIdle 0, to measure its worth) parks nothing, whatever the replica count.
        let limit = wanted == 0 || maxIdle == 0 ? 0 : max(wanted, maxIdle)
        let parked = idle.withLock { pool in
            guard pool.count < limit else { return false }
            pool.append(instance)
            return true
        }
        if !parked { live.subtract(1, ordering: .relaxed) }
    }

    /// Number of instances parked and ready.
    var warmInstances: Int { idle.withLock { $0.count } }

    /// Replicas wanted.
    var desiredReplicas: Int { desired.load(ordering: .relaxed) }

    /// Replicas that exist: instances made, up to the count wanted.
    var availableReplicas: Int { min(desired.load(ordering: .relaxed), live.load(ordering: .relaxed)) }

    /// Sets the replicas wanted; at zero the parked instances are freed. Returns how many
    /// instances must be made to reach `count` (the runtime makes them on a guest thread).
    func resize(to count: Int) -> Int {
        desired.store(max(count, 0), ordering: .relaxed)
        if count <= 0 {
            let freed = idle.withLock { pool -> Int in
                defer { pool = [] }
                return pool.count
            }
            live.subtract(freed, ordering: .relaxed)
            return 0
        }
        return max(0, count - live.load(ordering: .relaxed))
    }

    /// Tries the call on the current thread with a warm instance and a small fuel budget.
    ///
    /// Handing a call to a guest thread and back costs two thread wake-ups, more than a short guest
    /// runs. Short functions therefore run where the request is handled; the budget bounds how long
    /// that thread can be held. Returns `nil` (and sends all later calls to the guest threads) when
    /// the budget ran out, or `nil` at once when no warm instance is parked or inline runs are off.
    /// Rerunning is safe: the guest saw only in-memory stdio, and its output is discarded.
    func callInline(_ request: GuestRequest) -> GuestResult? {
        guard inlineAllowed.load(ordering: .relaxed), let instance = idle.withLock({ $0.popLast() }) else { return nil }
        let begin = ContinuousClock.now
        instance.io.reset(stdin: request.stdin, environment: request.environment, arguments: request.arguments, outputLimit: request.outputLimit)
        let outcome = instance.runStart(fuel: Self.inlineFuel)
        if case .trapped = outcome, instance.fuelExhausted {
            inlineAllowed.store(false, ordering: .relaxed)
            live.subtract(1, ordering: .relaxed)
            return nil
        }
        return finish(instance, outcome: outcome, begin: begin, cold: false)
    }

    /// Whether calls still try the inline path.
    var runsInline: Bool { inlineAllowed.load(ordering: .relaxed) }

    /// Runs one call on this thread: takes a warm instance (or makes one), runs `_start`, resets it.
    func call(_ request: GuestRequest) -> GuestResult {
        let begin = ContinuousClock.now
        let instance: WarmInstance
        let cold: Bool
        if let parked = idle.withLock({ $0.popLast() }) {
            (instance, cold) = (parked, false)
        } else {
            do { (instance, cold) = (try makeInstance(), true) } catch {
                return GuestResult(outcome: .failed(error.description), stdout: [], stderr: [], duration: begin.duration(to: .now).seconds, coldStart: true)
            }
        }
        instance.io.reset(stdin: request.stdin, environment: request.environment, arguments: request.arguments, outputLimit: request.outputLimit)
        let watch = watchdog.watch(instance, seconds: settings.timeout)
        var outcome = instance.runStart(fuel: UInt64.max >> 1)
        if watchdog.finish(watch) { outcome = .timedOut }
        return finish(instance, outcome: outcome, begin: begin, cold: cold)
    }

    /// Collects the call's output and parks the instance again when it ended cleanly.
    private func finish(_ instance: WarmInstance, outcome: GuestOutcome, begin: ContinuousClock.Instant, cold: Bool) -> GuestResult {
        let result = GuestResult(outcome: outcome, stdout: instance.io.stdout, stderr: instance.io.stderr,
                                 duration: begin.duration(to: .now).seconds, coldStart: cold)
        if case .exited = outcome, instance.reset() {
            park(instance)
        } else {
            live.subtract(1, ordering: .relaxed)
        }
        return result
    }
}

