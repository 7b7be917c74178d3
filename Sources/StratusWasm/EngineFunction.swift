public import StratusModel

/// What an engine makes of a deployed function: the calls and the replica bookkeeping the runtime
/// needs. WasmKit's keeps warm instances and resets them; Wasmtime's instantiates per call.
protocol EngineFunction: AnyObject, Sendable {
    /// Gets the next call ready (an instance made ahead), where the engine does that.
    func prewarm() throws(WasmError)
    /// Runs a call on the caller's thread when it can be bounded cheaply; `nil` to move it to a guest thread.
    func callInline(_ request: GuestRequest) -> GuestResult?
    /// Runs a call on this (guest) thread.
    func call(_ request: GuestRequest) -> GuestResult
    /// Sets the replicas wanted; returns how many instances must be made to reach them.
    func resize(to count: Int) -> Int
    var warmInstances: Int { get }
    var desiredReplicas: Int { get }
    var availableReplicas: Int { get }
    var runsInline: Bool { get }
}

/// A deployed Wasm function, whichever engine runs it.
public final class WasmFunction: Sendable {
    public let module: PreparedModule
    public let settings: FunctionSettings
    /// The engine that runs it.
    public let engine: WasmEngineKind
    let backend: any EngineFunction

    init(module: PreparedModule, settings: FunctionSettings, engine: WasmEngineKind, backend: any EngineFunction) {
        self.module = module
        self.settings = settings
        self.engine = engine
        self.backend = backend
    }

    /// Instances parked and ready (WasmKit), or the replicas wanted (Wasmtime makes one per call).
    public var warmInstances: Int { backend.warmInstances }
    public var desiredReplicas: Int { backend.desiredReplicas }
    public var availableReplicas: Int { backend.availableReplicas }
    /// Whether calls still try the inline path.
    public var runsInline: Bool { backend.runsInline }
}
