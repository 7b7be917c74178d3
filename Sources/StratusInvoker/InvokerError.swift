public import StratusModel
public import StratusProcess
public import StratusWasm

/// Why the invoker could not deploy or route a call; the gateway maps these to status codes.
public enum InvokerError: Error, Sendable, CustomStringConvertible {
    case functionNotFound(FunctionName)
    case invalidArtifact(WasmError)
    case invalidProcess(ProcessError)
    case invalidSettings(ModelError)
    /// A declared model the inference engine cannot load (or there is no engine).
    case invalidModel(InferenceError)
    /// A container image that cannot be run (pulled, found, configured); the text says why.
    case invalidImage(String)
    /// The function already runs its `max_inflight` calls.
    case overloaded(FunctionName, limit: Int)

    public var description: String {
        switch self {
        case .functionNotFound(let name): "function '\(name)' is not deployed"
        case .invalidArtifact(let error): error.description
        case .invalidProcess(let error): error.description
        case .invalidSettings(let error): error.description
        case .invalidModel(let error): error.description
        case .invalidImage(let why): why
        case .overloaded(let name, let limit): "function '\(name)' is already running its limit of \(limit) concurrent calls (max_inflight); retry later"
        }
    }
}
