import CStratusWasmtime
import Crypto
import Foundation
import StratusModel
import Synchronization

/// Wasmtime in this process: its library (opened with dlopen), one engine with Cranelift, epoch
/// interruption and the pooling allocator, every host function defined once in its linker, and the
/// epoch ticker that stops calls past their deadline.
///
/// One engine serves the whole process (the pooling allocator reserves address space per engine).
final class WasmtimeEngine: @unchecked Sendable {
    /// The `stw_engine`.
    let handle: OpaquePointer
    /// The library's version (from the setup's VERSION file), or a digest of the library file.
    let version: String
    /// What compiled code depends on besides the module: the library and the engine's settings.
    /// Part of every compiled-code cache key.
    let codeKey: String
    let ticker: EpochTicker

    /// Instances that may exist at once (calls running plus validations).
    static let poolInstances: UInt32 = 128
    /// The largest linear memory a function may grow to under Wasmtime (Wasm32's 4 GiB).
    static let poolMaxMemory: UInt64 = 4 << 30
    /// Bytes of a finished instance's memory reset in place for the next (see stratus_wasmtime.c).
    static let poolKeepResident: UInt64 = 1 << 20
    /// Cranelift's level: speed.
    static let optLevel: UInt8 = 1

    /// Environment variable naming the library's path (else `.cache/wasmtime/lib/libwasmtime.so` is looked for).
    static let libraryPathVariable = "STRATUS_WASMTIME"
    static let libraryFileName = "libwasmtime.so"

    private static let shared = Mutex<(path: String, engine: WasmtimeEngine)?>(nil)

    /// The process's engine, opening `path` the first time.
    static func open(path: String) throws(WasmError) -> WasmtimeEngine {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .engineUnavailable("no Wasmtime library at \(path) (run `make setup-models`, or point \(libraryPathVariable) at libwasmtime.so)")
        }
        let result = shared.withLock { shared -> Result<WasmtimeEngine, WasmError> in
            if let shared {
                guard shared.path == path else {
                    return .failure(.engineUnavailable("Wasmtime is already loaded from \(shared.path); a process uses one library"))
                }
                return .success(shared.engine)
            }
            do throws(WasmError) {
                let engine = try WasmtimeEngine(path: path)
                shared = (path, engine)
                return .success(engine)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private init(path: String) throws(WasmError) {
        var error = [CChar](repeating: 0, count: 1024)
        guard stw_open(path, &error, error.count) == STW_OK else { throw .engineUnavailable(cMessage(error)) }
        var settings = stw_settings(pool_instances: Self.poolInstances, pool_max_memory: Self.poolMaxMemory,
                                    pool_keep_resident: Self.poolKeepResident, opt_level: Self.optLevel)
        var engine: OpaquePointer?
        guard stw_engine_new(&settings, &engine, &error, error.count) == STW_OK, let engine else {
            throw .engineUnavailable(cMessage(error))
        }
        stw_set_dispatch(wasmtimeDispatch)
        for (index, function) in HostFunctions.all.enumerated() {
            let parameters = function.parameters.map(\.rawValue), results = function.results.map(\.rawValue)
            guard stw_define_host(engine, function.module, function.name, parameters, parameters.count, results, results.count, UInt32(index),
                                  &error, error.count) == STW_OK
            else { throw .engineUnavailable("cannot define \(function.module).\(function.name): \(cMessage(error))") }
        }
        handle = engine
        version = Self.libraryVersion(path: path)
        codeKey = "wasmtime-\(version)-cranelift-o\(Self.optLevel)-epoch-pool\(Self.poolMaxMemory >> 20)m"
        ticker = EpochTicker(engine: engine)
    }

    /// `VERSION` beside the library's folder (written by the setup step), else the library file's digest.
    static func libraryVersion(path: String) -> String {
        let url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let versionFile = url.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("VERSION")
        if let text = try? String(contentsOf: versionFile, encoding: .utf8) {
            let version = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !version.isEmpty, version.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) }) { return version }
        }
        guard let bytes = FileManager.default.contents(atPath: url.path) else { return "unknown" }
        return "lib" + SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Where the library is: `STRATUS_WASMTIME` when set (returned even if nothing is there, so a
    /// wrong setting fails loudly), else the first `.cache/wasmtime/lib/libwasmtime.so` in the
    /// current directory or above it, then beside the executable or above it.
    static func findLibrary(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let path = environment[libraryPathVariable], !path.isEmpty { return path }
        return SetupFiles.find(".cache/wasmtime/lib/\(libraryFileName)")
    }

    /// Compiles Wasm bytes with Cranelift.
    func compile(_ bytes: [UInt8]) throws(WasmError) -> WasmtimeModule {
        var error = [CChar](repeating: 0, count: 2048)
        var module: OpaquePointer?
        guard stw_module_compile(handle, bytes, bytes.count, &module, &error, error.count) == STW_OK, let module else {
            throw .invalidModule(cMessage(error))
        }
        return WasmtimeModule(handle: module)
    }

    /// Loads code this library serialized with these settings; Wasmtime refuses other versions and settings.
    func deserialize(_ bytes: [UInt8]) throws(WasmError) -> WasmtimeModule {
        var error = [CChar](repeating: 0, count: 2048)
        var module: OpaquePointer?
        guard stw_module_deserialize(handle, bytes, bytes.count, &module, &error, error.count) == STW_OK, let module else {
            throw .invalidModule(cMessage(error))
        }
        return WasmtimeModule(handle: module)
    }
}

/// A compiled, linked module (an instance-pre): instances of it are made per call.
final class WasmtimeModule: @unchecked Sendable {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { stw_module_free(handle) }

    /// The compiled code, to cache.
    func serialize() throws(WasmError) -> [UInt8] {
        var error = [CChar](repeating: 0, count: 1024)
        var bytes: UnsafeMutablePointer<UInt8>?
        var count = 0
        guard stw_module_serialize(handle, &bytes, &count, &error, error.count) == STW_OK, let bytes else {
            throw .invalidModule(cMessage(error))
        }
        defer { stw_bytes_free(bytes, count) }
        return Array(UnsafeBufferPointer(start: bytes, count: count))
    }
}

/// Every host call of a Wasmtime guest lands here, with the `HostContext` its instance was made with.
private let wasmtimeDispatch: stw_dispatch_fn = { context, function, memory, size, values, count, result, exitCode in
    guard let context, let values, let result, let exitCode else { return Int32(STW_HOST_TRAP) }
    let host = Unmanaged<HostContext>.fromOpaque(context).takeUnretainedValue()
    host.memory = memory.map { UnsafeMutableRawBufferPointer(start: $0, count: size) }
    defer { host.memory = nil }
    do {
        try HostFunctions.all[Int(function)].body(host, HostArguments(storage: .words(values)), result)
        return Int32(STW_HOST_OK)
    } catch let exit as GuestExit {
        exitCode.pointee = exit.code
        return Int32(STW_HOST_EXIT)
    } catch {
        return Int32(STW_HOST_TRAP)
    }
}

/// Moves Wasmtime's epoch on every `tick` while calls run, so a call's deadline (a number of ticks)
/// stops it; with nothing running the thread sleeps until the next call starts.
final class EpochTicker: @unchecked Sendable {
    static let tick: Duration = .milliseconds(5)
    private let engine: OpaquePointer
    private let running = Atomic<Int>(0)
    private let condition = NSCondition()
    private var parked = false

    init(engine: OpaquePointer) {
        self.engine = engine
        let thread = Thread { [self] in run() }
        thread.name = "stratus-epoch"
        thread.start()
    }

    /// Ticks a deadline of `seconds` takes (one more, so a call gets at least its time).
    static func ticks(seconds: Double) -> UInt64 {
        let perTick = Double(tick.components.attoseconds) * 1e-18
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return UInt64(min(seconds / perTick, Double(UInt64.max >> 2)).rounded(.up)) + 1
    }

    /// A call starts: the ticker runs until every started call has ended.
    func begin() {
        if running.wrappingAdd(1, ordering: .relaxed).oldValue == 0 {
            condition.lock()
            if parked { condition.signal() }
            condition.unlock()
        }
    }

    func end() { running.wrappingSubtract(1, ordering: .relaxed) }

    private func run() {
        let seconds = Double(Self.tick.components.attoseconds) * 1e-18
        while true {
            if running.load(ordering: .relaxed) > 0 {
                Thread.sleep(forTimeInterval: seconds)
                stw_engine_tick(engine)
                continue
            }
            condition.lock()
            parked = true
            while running.load(ordering: .relaxed) == 0 { condition.wait() }
            parked = false
            condition.unlock()
        }
    }
}

/// The text a C function left in `buffer`, up to its NUL.
func cMessage(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
