public import StratusModel
public import StratusWasm

/// Why the invoker could not deploy or route a call; the gateway maps these to status codes.
public enum InvokerError: Error, Sendable, CustomStringConvertible {
    case functionNotFound(FunctionName)
    case invalidArtifact(WasmError)
    case invalidSettings(ModelError)

    public var description: String {
        switch self {
        case .functionNotFound(let name): "function '\(name)' is not deployed"
        case .invalidArtifact(let error): error.description
        case .invalidSettings(let error): error.description
        }
    }
}
