/// Why a process function cannot be deployed; the message is safe to show to the user.
public enum ProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyCommand
    case commandNotFound(String)
    case invalidBundle(String)
    case io(String)
    case invalidUser(String, String)
    /// An http-mode replica did not become ready; the text says why (exit status, port never opened).
    case notReady(String)

    public var description: String {
        switch self {
        case .emptyCommand: "the function process (envProcess / fprocess) is empty"
        case .commandNotFound(let command):
            "command '\(command)' not found: install it on the server, put it in the function's bundle, or fix fprocess"
        case .invalidBundle(let why): "invalid function bundle: \(why)"
        case .io(let why): "storage error: \(why)"
        case .invalidUser(let text, let why): "invalid function user '\(text)': \(why)"
        case .notReady(let why): "the function did not start: \(why)"
        }
    }
}
