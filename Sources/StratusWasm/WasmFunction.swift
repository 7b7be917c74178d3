public import StratusModel
import Synchronization
import WasmKit

/// A deployed Wasm function: its module, its limits, and a pool of warm instances.
public final class WasmFunction: Sendable {
    public let module: PreparedModule
    public let settings: FunctionSettings
    private let engine: Engine
    private let watchdog: Watchdog
    private let idle = Mutex<[WarmInstance]>([])
    private let maxIdle: Int

    init(module: PreparedModule, settings: FunctionSettings, engine: Engine, watchdog: Watchdog, maxIdle: Int) {
        self.module = module
        self.watchdog = watchdog
        self.settings = settings
        self.engine = engine
        self.maxIdle = maxIdle
    }

    /// Creates an instance now so the first call finds one ready.
    func prewarm() throws(WasmError) {
        guard maxIdle > 0 else { return }
        let instance = try WarmInstance(module: module, engine: engine, memoryLimit: settings.memoryLimit)
        idle.withLock { $0.append(instance) }
    }

    /// Number of instances parked and ready.
    public var warmInstances: Int { idle.withLock { $0.count } }

    /// Runs one call on this thread: takes a warm instance (or makes one), runs `_start`, resets it.
    func call(_ request: GuestRequest) -> GuestResult {
        let begin = ContinuousClock.now
        var cold = false
        var instance = idle.withLock { $0.popLast() }
        if instance == nil {
            cold = true
            do {
                instance = try WarmInstance(module: module, engine: engine, memoryLimit: settings.memoryLimit)
            } catch {
                return GuestResult(outcome: .failed(error.description), stdout: [], stderr: [], duration: begin.duration(to: .now).seconds, coldStart: true)
            }
        }
        guard let instance else { fatalError("unreachable: instance was just created") }
        instance.io.reset(stdin: request.stdin, environment: request.environment, arguments: request.arguments, outputLimit: request.outputLimit)
        let watch = watchdog.watch(instance, seconds: settings.timeout)
        var outcome = instance.runStart()
        if watchdog.finish(watch) { outcome = .timedOut }
        let result = GuestResult(outcome: outcome, stdout: instance.io.stdout, stderr: instance.io.stderr,
                                 duration: begin.duration(to: .now).seconds, coldStart: cold)
        if case .exited = outcome, instance.reset() {
            idle.withLock { pool in
                if pool.count < maxIdle { pool.append(instance) }
            }
        }
        return result
    }
}

/// What the runtime hands a guest: stdin, environment, argv.
public struct GuestRequest: Sendable {
    public var stdin: [UInt8]
    public var environment: [(String, String)]
    public var arguments: [String]
    public var outputLimit: Int

    public init(stdin: [UInt8], environment: [(String, String)], arguments: [String], outputLimit: Int = 64 * 1024 * 1024) {
        self.stdin = stdin
        self.environment = environment
        self.arguments = arguments
        self.outputLimit = outputLimit
    }
}

/// What a guest call produced.
public struct GuestResult: Sendable {
    public var outcome: GuestOutcome
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var duration: Double
    /// Whether this call had to create its instance.
    public var coldStart: Bool
}

extension Duration {
    var seconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) * 1e-18
    }
}
