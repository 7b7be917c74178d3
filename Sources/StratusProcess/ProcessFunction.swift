public import Foundation
public import StratusModel

/// A deployed process function: the command started per request, where it runs, and its limits.
public struct ProcessFunction: Sendable {
    /// Absolute path of the executable.
    public let executable: String
    /// What starts the executable for one call: the user switch and resource limits (`setpriv … -- prlimit … --`), empty when unavailable.
    public let launcher: [String]
    /// The same for a long-lived process that starts calls (a classic replica's launcher): no CPU-seconds limit.
    public var replicaLauncher: [String] = []
    /// argv, including argv[0] as written.
    public let arguments: [String]
    /// The bundle the command runs in, or `nil` for a host command (runs in a scratch directory).
    public let directory: URL?
    public let settings: FunctionSettings
    /// Files shown to the function at `/var/openfaas/secrets` (sandboxed runs only).
    public let secretsDirectory: URL?
    /// The function's layers, merged in order, shown read-only at `/opt` (sandboxed runs only).
    public var layerDirectory: URL? = nil
}
