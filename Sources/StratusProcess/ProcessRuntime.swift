public import Foundation
public import StratusModel

/// Runs process functions the OpenFaaS classic-watchdog way: one process per request, body on
/// stdin, stdout is the answer, stderr the log, metadata in `Http_*` environment variables.
public final class ProcessRuntime: Sendable {
    /// Where bundles are unpacked, one folder per digest.
    public let bundleDirectory: URL
    /// Environment every function process gets before its own variables (never the server's own).
    let baseEnvironment: [(String, String)]
    /// The bubblewrap sandbox, when this machine has a working one.
    public let sandbox: Sandbox?

    public init(bundleDirectory: URL, sandbox: Sandbox? = nil) {
        self.sandbox = sandbox
        // Writing a body to a process that closed its stdin must fail with EPIPE, not kill the server.
        signal(SIGPIPE, SIG_IGN)
        self.bundleDirectory = bundleDirectory
        let env = ProcessInfo.processInfo.environment
        baseEnvironment = [
            // The system's directories first (what a function's user can run), then the server's.
            ("PATH", (["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                + (env["PATH"] ?? "").split(separator: ":").map(String.init)).uniqued().joined(separator: ":")),
            ("LANG", env["LANG"] ?? "C.UTF-8"),
            ("HOME", FileManager.default.temporaryDirectory.path),
            ("PYTHONUNBUFFERED", "1"),
        ]
    }

    /// Checks a command and makes it callable; `bundle` is the unpacked artifact it runs in, if any.
    public func load(command: String, bundle: URL?, settings: FunctionSettings, secrets: URL? = nil) throws(ProcessError) -> ProcessFunction {
        let arguments = CommandSplitter.split(command)
        guard let first = arguments.first else { throw .emptyCommand }
        let path = baseEnvironment.first { $0.0 == "PATH" }?.1 ?? ""
        guard let executable = CommandSplitter.resolve(first, in: bundle, path: path) else { throw .commandNotFound(first) }
        return ProcessFunction(executable: executable, launcher: Self.limits(for: settings), arguments: arguments, directory: bundle,
                               settings: settings, secretsDirectory: secrets)
    }

    /// rlimits through util-linux's `prlimit`: open files, CPU seconds (a little past the timeout, as
    /// a backstop), and the address space when the function sets `limits.memory`.
    static func limits(for settings: FunctionSettings) -> [String] {
        let prlimit = "/usr/bin/prlimit"
        guard FileManager.default.isExecutableFile(atPath: prlimit) else { return [] }
        var launcher = [prlimit, "--nofile=1024", "--cpu=\(Int(settings.timeout.rounded(.up)) + 1)"]
        if let memory = settings.explicitMemoryLimit { launcher.append("--as=\(memory)") }
        return launcher + ["--"]
    }

    /// Runs one call in a new process group on its own thread.
    public func run(_ function: ProcessFunction, request: GuestRequest) async -> GuestResult {
        let environment = baseEnvironment + request.environment
        let sandbox = sandbox
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: ClassicCall(function: function, request: request, environment: environment, sandbox: sandbox).run())
            }
        }
    }
}

extension Array where Element == String {
    /// The elements in order, each once.
    func uniqued() -> [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}
