/// Errors raised while turning untrusted text into model values.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidFunctionName(String, String)
    case unknownNamespace(String)
    case invalidNamespace(String, String)
    case invalidDigest(String)
    case invalidDuration(String)
    case invalidMemoryQuantity(String)
    case invalidArtifactName(String)
    case invalidLimit(String, String)
    case invalidSecretName(String)
    case invalidMode(String)
    case invalidWasmEngine(String)
    case invalidQualifier(String, String)
    /// An annotation of a timer trigger is malformed: the field, the text, and why.
    case invalidSchedule(String, String, String)
    case invalidAlias(String)

    public var description: String {
        switch self {
        case .invalidFunctionName(let name, let why): "invalid function name '\(name)': \(why)"
        case .unknownNamespace(let ns): "namespace '\(ns)' does not exist (create it with `stratus namespace create \(ns)`)"
        case .invalidNamespace(let ns, let why): "invalid namespace '\(ns)': \(why)"
        case .invalidDigest(let text): "invalid digest '\(text)': expected sha256:<64 hex digits>"
        case .invalidDuration(let text): "invalid duration '\(text)': expected e.g. 500ms, 30s, 2m"
        case .invalidMemoryQuantity(let text): "invalid memory quantity '\(text)': expected e.g. 64Mi, 1Gi, 128M"
        case .invalidSecretName(let name): "invalid secret name '\(name)': use lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        case .invalidMode(let text): "invalid process mode '\(text)': expected 'classic' (a process per request), 'http' (replicas listening on $PORT) or 'bootstrap' (a custom runtime using the Lambda/SCF runtime API)"
        case .invalidWasmEngine(let text): "invalid com.stratus.wasm.engine '\(text)': expected 'wasmtime' (compiled) or 'wasmkit' (interpreted)"
        case .invalidQualifier(let text, let why): "invalid version or alias '\(text)': \(why)"
        case .invalidSchedule(let field, let text, let why): "invalid \(field) '\(text)': \(why)"
        case .invalidAlias(let why): "invalid alias: \(why)"
        case .invalidLimit(let name, let text): "invalid \(name) '\(text)': expected a positive whole number"
        case .invalidArtifactName(let text): "invalid artifact name '\(text)': expected name[:tag] with letters, digits, '.', '_', '-', '/'"
        }
    }
}
