public import StratusModel
public import Foundation
import Synchronization
import WasmKit

/// The WebAssembly runtime: one engine, modules cached by digest, guests run on dedicated threads.
public final class WasmRuntime: Sendable {
    private let engine: Engine
    private let executor: GuestExecutor
    private let watchdog = Watchdog()
    private let modules = Mutex<[Digest: PreparedModule]>([:])
    private let threads: Int

    /// `threads` guest threads run calls concurrently (default: one per core, at least two).
    public init(threads: Int? = nil) {
        let threads = threads ?? max(2, ProcessInfo.processInfo.activeProcessorCount)
        engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        executor = GuestExecutor(threads: threads)
        self.threads = threads
    }

    /// Parses and checks `bytes` (cached by digest): a WASI command with memory and only WASI imports.
    public func prepare(digest: Digest, bytes: [UInt8]) throws(WasmError) -> PreparedModule {
        if let cached = modules.withLock({ $0[digest] }) { return cached }
        let prepared = try PreparedModule(digest: digest, bytes: bytes)
        modules.withLock { $0[digest] = prepared }
        return prepared
    }

    /// Checks that `bytes` can be deployed by instantiating it once (which validates every function body).
    public func validate(digest: Digest, bytes: [UInt8]) async throws(WasmError) {
        let prepared = try prepare(digest: digest, bytes: bytes)
        let engine = engine
        let error = await executor.run { () -> WasmError? in
            do throws(WasmError) {
                _ = try WarmInstance(module: prepared, engine: engine, memoryLimit: Int.max)
                return nil
            } catch {
                return error
            }
        }
        if let error { throw error }
    }

    /// Makes a deployable function with one warm instance ready, so its first call is not a cold start.
    /// With `pooling` off every call gets a brand-new instance (slower; used to measure the pool's worth).
    /// `secrets` become the files of a read-only directory preopened at `/var/openfaas/secrets`.
    /// `layers` is a host folder preopened read-only at `/opt`.
    /// `models` are what it may run through WASI-NN.
    public func load(_ module: PreparedModule, settings: FunctionSettings, pooling: Bool = true, secrets: [String: [UInt8]] = [:],
                     layers: URL? = nil, models: FunctionModels = .none) async throws(WasmError) -> WasmFunction {
        guard module.initialMemoryBytes <= settings.memoryLimit else {
            throw .instantiationFailed("its memory starts at \(module.initialMemoryBytes / (1024 * 1024)) MiB, above the function's memory limit of \(settings.memoryLimit / (1024 * 1024)) MiB (raise limits.memory)")
        }
        let function = WasmFunction(module: module, settings: settings, engine: engine, watchdog: watchdog,
                                    maxIdle: pooling ? threads * 2 : 0, secrets: secrets, layers: layers, models: models)
        let error = await executor.run { () -> WasmError? in
            do throws(WasmError) {
                try function.prewarm()
                return nil
            } catch {
                return error
            }
        }
        if let error { throw error }
        return function
    }

    /// Runs one call of `function`: inline when it is short and an instance is warm, else on a guest thread.
    public func run(_ function: WasmFunction, request: GuestRequest) async -> GuestResult {
        if let result = function.callInline(request) { return result }
        return await executor.run { function.call(request) }
    }

    /// Sets `function`'s replicas (warm instances kept made); new ones are made in the background.
    public func scale(_ function: WasmFunction, to count: Int) {
        let missing = function.resize(to: count)
        guard missing > 0 else { return }
        let executor = executor
        Task {
            await executor.run {
                for _ in 0..<missing { try? function.prewarm() }
            }
        }
    }

    /// Forgets cached modules no deployed function uses any more.
    public func evict(except digests: Set<Digest>) {
        modules.withLock { cache in cache = cache.filter { digests.contains($0.key) } }
    }
}
