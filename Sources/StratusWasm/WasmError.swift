/// Why a module cannot be deployed or instantiated; the message is safe to show to the user.
public enum WasmError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidModule(String)
    case missingStart
    case missingMemory
    case unsupportedImport(module: String, name: String)
    case instantiationFailed(String)
    /// The engine a function asked for cannot run here (e.g. Wasmtime's library is missing).
    case engineUnavailable(String)

    public var description: String {
        switch self {
        case .invalidModule(let why): "invalid WebAssembly module: \(why)"
        case .missingStart: "the module exports no `_start` function: build it as a WASI command (a program with main)"
        case .missingMemory: "the module exports no memory named `memory`, which WASI requires"
        case .unsupportedImport(let module, let name):
            "the module imports `\(module).\(name)`, which Stratus does not provide (only wasi_snapshot_preview1 is available)"
        case .instantiationFailed(let why): "cannot instantiate the module: \(why)"
        case .engineUnavailable(let why): "the Wasm engine is unavailable: \(why)"
        }
    }
}

