/// Why a module cannot be deployed or instantiated; the message is safe to show to the user.
public enum WasmError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidModule(String)
    case missingStart
    case missingMemory
    case unsupportedImport(module: String, name: String)
    case instantiationFailed(String)

    public var description: String {
        switch self {
        case .invalidModule(let why): "invalid WebAssembly module: \(why)"
        case .missingStart: "the module exports no `_start` function: build it as a WASI command (a program with main)"
        case .missingMemory: "the module exports no memory named `memory`, which WASI requires"
        case .unsupportedImport(let module, let name):
            "the module imports `\(module).\(name)`, which Stratus does not provide (only wasi_snapshot_preview1 is available)"
        case .instantiationFailed(let why): "cannot instantiate the module: \(why)"
        }
    }
}

/// How a guest call ended.
public enum GuestOutcome: Sendable, Equatable {
    /// `_start` returned (code 0) or the guest called `proc_exit(code)`.
    case exited(Int32)
    /// The guest trapped; the reason is for the function's log.
    case trapped(String)
    /// The call ran past its deadline and was stopped.
    case timedOut
    /// The instance could not be created (e.g. its initial memory exceeds the cap).
    case failed(String)
}
