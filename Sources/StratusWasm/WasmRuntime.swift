public import StratusModel
public import Foundation
public import Logging
import Synchronization
import WasmKit

/// Where compiled code is kept between restarts and shared between the nodes of a cluster.
public protocol CompiledCodeCache: Sendable {
    /// The code stored for `module` under `key` (which names the engine's version and settings),
    /// or `nil` when there is none or it is unreadable: bytes that no longer match what was stored
    /// are never returned.
    func compiledCode(module: Digest, key: String) async -> [UInt8]?
    /// Keeps `code` for `module` under `key`; failures are the cache's to report.
    func storeCompiledCode(_ code: [UInt8], module: Digest, key: String) async
}

/// How often compiled code was made and found, since the runtime started.
public struct CompileCounts: Sendable, Equatable {
    /// Modules compiled by Wasmtime.
    public var compiled = 0
    /// Modules loaded from the compiled-code cache instead.
    public var loadedFromCache = 0
    /// Cache entries Wasmtime refused (another version or settings, damaged): compiled again.
    public var rejected = 0

    public init(compiled: Int = 0, loadedFromCache: Int = 0, rejected: Int = 0) {
        self.compiled = compiled
        self.loadedFromCache = loadedFromCache
        self.rejected = rejected
    }
}

/// The WebAssembly runtime: two engines behind one interface, modules cached by digest, guests run
/// on dedicated threads. Wasmtime compiles modules with Cranelift (the default when its library is
/// found); WasmKit interprets them and needs nothing but Swift. Nothing above this type knows which
/// engine ran a call.
public final class WasmRuntime: Sendable {
    private let engine: Engine
    private let executor: GuestExecutor
    private let watchdog = Watchdog()
    private let modules = Mutex<[Digest: PreparedModule]>([:])
    private let threads: Int
    /// Wasmtime, when its library opened.
    let wasmtime: WasmtimeEngine?
    let compiled = Mutex<[Digest: WasmtimeModule]>([:])
    let cache: (any CompiledCodeCache)?
    private let logger: Logger
    private let counts = Mutex(CompileCounts())
    /// The engine functions run on unless they ask for another.
    public let defaultEngine: WasmEngineKind
    /// Why Wasmtime is not available, when it is not.
    public let wasmtimeUnavailable: String?

    /// `threads` guest threads run calls concurrently (default: one per core, at least two).
    /// The default engine is Wasmtime when its library is found, else WasmKit.
    public convenience init(threads: Int? = nil) {
        // Without an explicit engine nothing can fail.
        try! self.init(threads: threads, engine: nil)
    }

    /// `engine` picks the default engine (`nil`: Wasmtime when its library opens, else WasmKit);
    /// asking for Wasmtime when its library cannot be opened fails. `wasmtimeLibrary` overrides
    /// where the library is looked for; `cache` keeps compiled code across restarts and nodes.
    public init(threads: Int? = nil, engine requested: WasmEngineKind?, wasmtimeLibrary: String? = nil,
                cache: (any CompiledCodeCache)? = nil, logger: Logger = Logger(label: "stratus.wasm")) throws(WasmError) {
        let threads = threads ?? max(2, ProcessInfo.processInfo.activeProcessorCount)
        engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        executor = GuestExecutor(threads: threads)
        self.threads = threads
        self.cache = cache
        self.logger = logger
        var wasmtime: WasmtimeEngine?
        var unavailable: String?
        if requested != .wasmkit || wasmtimeLibrary != nil || WasmtimeEngine.findLibrary() != nil {
            if let path = wasmtimeLibrary ?? WasmtimeEngine.findLibrary() {
                do throws(WasmError) { wasmtime = try WasmtimeEngine.open(path: path) } catch {
                    if case .engineUnavailable(let why) = error { unavailable = why } else { unavailable = "\(error)" }
                }
            } else {
                unavailable = "no Wasmtime library: run `make setup-models` (it fetches .cache/wasmtime/lib/libwasmtime.so) or set \(WasmtimeEngine.libraryPathVariable)"
            }
        }
        if requested == .wasmtime, let unavailable { throw .engineUnavailable(unavailable) }
        self.wasmtime = wasmtime
        self.wasmtimeUnavailable = wasmtime == nil ? (unavailable ?? "not opened: the server runs WasmKit") : nil
        defaultEngine = requested ?? (wasmtime != nil ? .wasmtime : .wasmkit)
    }

    /// The Wasmtime library's version, when it is loaded.
    public var wasmtimeVersion: String? { wasmtime?.version }

    /// Compiled code made and found so far.
    public var compileCounts: CompileCounts { counts.withLock { $0 } }

    /// Parses and checks `bytes` (cached by digest): a WASI command with memory and only known imports.
    public func prepare(digest: Digest, bytes: [UInt8]) throws(WasmError) -> PreparedModule {
        if let cached = modules.withLock({ $0[digest] }) { return cached }
        let prepared = try PreparedModule(digest: digest, bytes: bytes)
        modules.withLock { $0[digest] = prepared }
        return prepared
    }

    /// Checks that `bytes` can be deployed on `engine` (default: the server's): Wasmtime compiles it
    /// (and keeps the code); WasmKit instantiates it once (which validates every function body).
    public func validate(digest: Digest, bytes: [UInt8], engine kind: WasmEngineKind? = nil) async throws(WasmError) {
        let prepared = try prepare(digest: digest, bytes: bytes)
        if (kind ?? defaultEngine) == .wasmtime {
            guard let wasmtime else { throw .engineUnavailable(wasmtimeUnavailable ?? "Wasmtime is not loaded") }
            _ = try await compiledModule(prepared, engine: wasmtime)
            return
        }
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

    /// Which engine runs a function with `settings`, or why none can.
    public func engine(for settings: FunctionSettings) throws(WasmError) -> WasmEngineKind {
        let kind = settings.wasmEngine ?? defaultEngine
        if kind == .wasmtime, wasmtime == nil {
            throw .engineUnavailable("the function asks for Wasmtime (\(FunctionSettings.wasmEngineAnnotation)), but \(wasmtimeUnavailable ?? "it is not loaded"); deploy it with \(FunctionSettings.wasmEngineAnnotation): wasmkit instead")
        }
        return kind
    }

    /// Makes a deployable function, ready for its first call: Wasmtime's code compiled (or loaded
    /// from the compiled-code cache), WasmKit's first instance warm.
    /// With `pooling` off WasmKit makes a brand-new instance per call (slower; used to measure the pool's worth).
    /// `secrets` become the files of a read-only directory preopened at `/var/openfaas/secrets`.
    /// `layers` is a host folder preopened read-only at `/opt`.
    /// `models` are what it may run through WASI-NN.
    public func load(_ module: PreparedModule, settings: FunctionSettings, pooling: Bool = true, secrets: [String: [UInt8]] = [:],
                     layers: URL? = nil, models: FunctionModels = .none) async throws(WasmError) -> WasmFunction {
        guard module.initialMemoryBytes <= settings.memoryLimit else {
            throw .instantiationFailed("its memory starts at \(module.initialMemoryBytes / (1024 * 1024)) MiB, above the function's memory limit of \(settings.memoryLimit / (1024 * 1024)) MiB (raise limits.memory)")
        }
        let kind = try engine(for: settings)
        let backend: any EngineFunction
        if kind == .wasmtime, let wasmtime {
            let code = try await compiledModule(module, engine: wasmtime)
            backend = WasmtimeFunction(module: code, prepared: module, settings: settings, engine: wasmtime, secrets: secrets, layers: layers,
                                       models: models)
        } else {
            backend = WasmKitFunction(module: module, settings: settings, engine: engine, watchdog: watchdog,
                                      maxIdle: pooling ? threads * 2 : 0, secrets: secrets, layers: layers, models: models)
        }
        let error = await executor.run { () -> WasmError? in
            do throws(WasmError) {
                try backend.prewarm()
                return nil
            } catch {
                return error
            }
        }
        if let error { throw error }
        return WasmFunction(module: module, settings: settings, engine: kind, backend: backend)
    }

    /// Runs one call of `function`: inline when it is short and it can be bounded, else on a guest thread.
    public func run(_ function: WasmFunction, request: GuestRequest) async -> GuestResult {
        let backend = function.backend
        if let result = backend.callInline(request) { return result }
        return await executor.run { backend.call(request) }
    }

    /// Sets `function`'s replicas; WasmKit's new warm instances are made in the background.
    public func scale(_ function: WasmFunction, to count: Int) {
        let backend = function.backend
        let missing = backend.resize(to: count)
        guard missing > 0 else { return }
        let executor = executor
        Task {
            await executor.run {
                for _ in 0..<missing { try? backend.prewarm() }
            }
        }
    }

    /// Forgets cached modules and code no deployed function uses any more.
    public func evict(except digests: Set<Digest>) {
        modules.withLock { cache in cache = cache.filter { digests.contains($0.key) } }
        compiled.withLock { cache in cache = cache.filter { digests.contains($0.key) } }
    }

    // MARK: Wasmtime's compiled code

    /// `module` compiled by Wasmtime: from memory, else from the compiled-code cache, else compiled
    /// now (on a guest thread) and stored in the cache.
    private func compiledModule(_ module: PreparedModule, engine: WasmtimeEngine) async throws(WasmError) -> WasmtimeModule {
        if let code = compiled.withLock({ $0[module.digest] }) { return code }
        let key = engine.codeKey
        if let cache, let bytes = await cache.compiledCode(module: module.digest, key: key) {
            let begin = ContinuousClock.now
            let loaded = await executor.run { () -> Result<WasmtimeModule, WasmError> in
                do throws(WasmError) { return .success(try engine.deserialize(bytes)) } catch { return .failure(error) }
            }
            switch loaded {
            case .success(let code):
                counts.withLock { $0.loadedFromCache += 1 }
                logger.info("Wasmtime code loaded from the compiled-code cache", metadata: [
                    "module": "\(module.digest)", "key": "\(key)", "ms": "\(milliseconds(begin))",
                ])
                compiled.withLock { $0[module.digest] = code }
                return code
            case .failure(let error):
                counts.withLock { $0.rejected += 1 }
                logger.warning("cached Wasmtime code refused, compiling again", metadata: [
                    "module": "\(module.digest)", "key": "\(key)", "why": "\(error)",
                ])
            }
        }
        let begin = ContinuousClock.now
        let bytes = module.bytes
        let made = await executor.run { () -> Result<(WasmtimeModule, [UInt8]?), WasmError> in
            do throws(WasmError) {
                let code = try engine.compile(bytes)
                return .success((code, try? code.serialize()))
            } catch {
                return .failure(error)
            }
        }
        let (code, serialized) = try made.get()
        counts.withLock { $0.compiled += 1 }
        logger.info("Wasmtime compiled a module", metadata: [
            "module": "\(module.digest)", "bytes": "\(module.size)", "ms": "\(milliseconds(begin))",
        ])
        compiled.withLock { $0[module.digest] = code }
        if let cache, let serialized { await cache.storeCompiledCode(serialized, module: module.digest, key: key) }
        return code
    }

    private func milliseconds(_ begin: ContinuousClock.Instant) -> String {
        String(format: "%.1f", Double(begin.duration(to: .now).components.attoseconds) * 1e-15 + Double(begin.duration(to: .now).components.seconds) * 1000)
    }
}
