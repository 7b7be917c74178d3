import Foundation
import StratusModel
@_spi(Fuzzing) import WasmKit

/// An instantiated module kept between calls and reset to its post-instantiation state after each.
///
/// Linear memory and every mutable global (exported by `GlobalExporter`) are snapshotted right
/// after instantiation; after a clean call they are restored, so no state leaks between calls.
/// Memory cannot shrink: pages a call grew are zeroed, and the instance is retired once it has
/// grown past its allowance (a quarter of the headroom under the cap, at most 16 MiB), so growth
/// left by earlier calls never eats much of a later call's memory. After a trap or a timeout the
/// instance is discarded.
final class WarmInstance: @unchecked Sendable {
    let store: Store
    let io = GuestIO()
    /// What the host functions see: `io`, the WASI-NN handles, linear memory.
    private let host: HostContext
    private let memory: Memory
    private let start: Function
    private let globals: [(global: WasmKit.Global, value: Value)]
    /// Where a function's secrets appear, as for process functions (OpenFaaS's path).
    static let secretsPath = "/var/openfaas/secrets"
    /// Where a function's layers appear, as for process functions (Lambda's and SCF's path).
    static let layersPath = "/opt"
    private let snapshot: MemorySnapshot
    private let growthAllowance: Int

    /// How the host functions reach linear memory. It refers to the store, which holds the host
    /// functions, which hold the box: a cycle that `deinit` breaks, or every instance would stay.
    private let box: MemoryBox

    init(module: PreparedModule, engine: Engine, memoryLimit: Int, secrets: [String: [UInt8]] = [:], layers: URL? = nil,
         models: FunctionModels = .none) throws(WasmError) {
        if !secrets.isEmpty { io.files.addPreopen(path: WarmInstance.secretsPath, source: .memory(secrets)) }
        if let layers { io.files.addPreopen(path: WarmInstance.layersPath, source: .folder(layers)) }
        let store = Store(engine: engine)
        store.resourceLimiter = MemoryLimiter(limit: memoryLimit)
        let box = MemoryBox()
        let host = HostContext(io: io, models: models)
        let imports = HostFunctions.wasmKitImports(for: module.module, store: store, context: host, memory: box)
        self.host = host
        let instance: Instance
        do {
            instance = try module.module.instantiate(store: store, imports: imports)
        } catch {
            throw .instantiationFailed("\(error)")
        }
        guard let memory = instance.exports[memory: "memory"] else { throw .missingMemory }
        guard let start = instance.exports[function: "_start"] else { throw .missingStart }
        box.memory = memory
        self.box = box
        self.store = store
        self.memory = memory
        self.start = start
        self.globals = module.mutableGlobals.compactMap { name in
            instance.exports[global: name].map { ($0, $0.value) }
        }
        self.snapshot = memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) { MemorySnapshot(copying: $0) }
        self.growthAllowance = min(16 * 1024 * 1024, max(0, memoryLimit - snapshot.count) / 4)
    }

    deinit { box.memory = nil }

    /// Runs `_start` once with `fuel` to burn; the caller has filled `io` and armed any deadline.
    func runStart(fuel: UInt64) -> GuestOutcome {
        store.fuel = Fuel(remaining: fuel)
        do {
            _ = try start.invoke([])
            return .exited(0)
        } catch let exit as GuestExit {
            return .exited(exit.code)
        } catch {
            return .trapped("\(error)")
        }
    }

    /// Whether the last run stopped for lack of fuel (less is left than any charge could need).
    var fuelExhausted: Bool { (store.fuel?.remaining ?? 0) < 100_000 }

    /// Stops the running guest at its next fuel check. Called from the watchdog thread.
    func interrupt() {
        store.fuel = Fuel(remaining: 0)
    }

    /// Puts memory and globals back as they were after instantiation; `false` when the instance must be retired.
    func reset() -> Bool {
        let size = memory.byteCount
        guard size <= snapshot.count + growthAllowance else { return false }
        memory.withUnsafeMutableBufferPointer(offset: 0, count: size) { snapshot.restore($0) }
        for (global, value) in globals {
            do { try global.assign(value) } catch { return false }
        }
        host.clear()
        return true
    }
}

/// Refuses linear-memory growth past the function's cap, so `memory.grow` returns -1 (malloc fails).
final class MemoryLimiter: ResourceLimiter, @unchecked Sendable {
    let limit: Int
    init(limit: Int) { self.limit = limit }
    func limitMemoryGrowth(to desired: Int) throws -> Bool { desired <= limit }
    func limitTableGrowth(to desired: Int) throws -> Bool { desired <= 100_000 }
}
