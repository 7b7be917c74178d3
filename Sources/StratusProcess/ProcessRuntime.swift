public import Foundation
public import StratusModel

/// Runs process functions the OpenFaaS watchdog ways: classic (one process per request, body on
/// stdin, stdout is the answer, stderr the log, metadata in `Http_*` environment variables) and
/// http (long-running replicas behind a proxy, see `HTTPFunction`).
public final class ProcessRuntime: Sendable {
    /// Where bundles are unpacked, one folder per digest.
    public let bundleDirectory: URL
    /// Environment every function process gets before its own variables (never the server's own).
    let baseEnvironment: [(String, String)]
    /// The bubblewrap sandbox, when this machine has a working one.
    public let sandbox: Sandbox?
    /// The unprivileged user functions run as, when the server can switch to one (it runs as root).
    public let user: FunctionUser?
    /// The `stratus-launcher` binary that classic replicas run; without
    /// one, every classic call is spawned by the server itself.
    public let launcher: String?

    /// `user` is who functions run as; it only takes effect when the server runs as root.
    public init(bundleDirectory: URL, sandbox: Sandbox? = nil, user: FunctionUser? = nil, launcher: String? = nil) {
        self.launcher = launcher
        self.sandbox = sandbox
        self.user = user?.switchCommand == nil ? nil : user
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
    /// `layers` is the folder shown at `/opt` (it needs the sandbox).
    public func load(command: String, bundle: URL?, settings: FunctionSettings, secrets: URL? = nil, layers: URL? = nil) throws(ProcessError) -> ProcessFunction {
        if layers != nil, sandbox == nil {
            throw .invalidBundle("layers are shown at /opt inside the bubblewrap sandbox, and this server has none: install bubblewrap (apt-get install -y bubblewrap) and restart it")
        }
        let arguments = CommandSplitter.split(command)
        guard let first = arguments.first else { throw .emptyCommand }
        let path = baseEnvironment.first { $0.0 == "PATH" }?.1 ?? ""
        guard let executable = CommandSplitter.resolve(first, in: bundle, path: path) else { throw .commandNotFound(first) }
        let start = startCommand
        let launcher = start + Self.limits(for: settings, dedicatedUser: user != nil)
        var function = ProcessFunction(executable: executable, launcher: launcher, arguments: arguments, directory: bundle,
                                       settings: settings, secretsDirectory: secrets)
        function.layerDirectory = layers
        function.replicaLauncher = start + Self.limits(for: settings, dedicatedUser: user != nil, perCallCPU: false)
        return function
    }

    /// What a function's processes start through before their limits: the user switch, and without
    /// the sandbox (whose `--die-with-parent` does it there) a parent-death signal, so that replicas
    /// go when the server is killed outright instead of living on. Each process is started from a
    /// thread that lives until the process ends (the signal follows the thread that started it).
    var startCommand: [String] {
        let setpriv = "/usr/bin/setpriv"
        guard sandbox == nil, FileManager.default.isExecutableFile(atPath: setpriv) else { return user?.switchCommand ?? [] }
        guard let switchCommand = user?.switchCommand else { return [setpriv, "--pdeathsig", "KILL", "--"] }
        return [switchCommand[0], "--pdeathsig", "KILL"] + switchCommand.dropFirst()
    }

    /// rlimits through util-linux's `prlimit`: open files, the address space when the function sets
    /// `limits.memory`, processes when functions have a user of their own, and CPU seconds (a little
    /// past the timeout, as a backstop) for a process that lives one request.
    static func limits(for settings: FunctionSettings, dedicatedUser: Bool, perCallCPU: Bool = true) -> [String] {
        let prlimit = "/usr/bin/prlimit"
        guard FileManager.default.isExecutableFile(atPath: prlimit) else { return [] }
        var launcher = [prlimit, "--nofile=1024"]
        if settings.mode == .classic, perCallCPU { launcher.append("--cpu=\(Int(settings.timeout.rounded(.up)) + 1)") }
        if dedicatedUser { launcher.append("--nproc=\(processLimit)") }
        if let memory = settings.explicitMemoryLimit { launcher.append("--as=\(memory)") }
        return launcher + ["--"]
    }

    /// Processes (and threads) the function user may have at once, across all its functions.
    static let processLimit = 2048

    /// The environment a function's processes start with: the base, then the function's own.
    func environment(_ own: [(String, String)]) -> [(String, String)] {
        baseEnvironment + own
    }

    /// A classic function with no replicas yet (`resize` starts its launchers).
    public func classic(_ function: ProcessFunction, name: String, log: @escaping ReplicaLogSink) -> ClassicFunction {
        ClassicFunction(function: function, name: name, runtime: self, log: log)
    }

    /// An http-mode function with no replicas yet (`resize` starts them); `environment` is the
    /// function's own. Their output lines go to `log`.
    public func http(_ function: ProcessFunction, name: String, environment: [(String, String)], log: @escaping ReplicaLogSink) -> HTTPFunction {
        HTTPFunction(function: function, name: name, environment: self.environment(environment), sandbox: sandbox, log: log)
    }

    /// A custom-runtime function (`bootstrap`) with no replicas yet; `environment` is the function's
    /// own. Responses up to `responseLimit` bytes are taken.
    public func bootstrap(_ function: ProcessFunction, name: String, environment: [(String, String)], responseLimit: Int,
                          log: @escaping ReplicaLogSink) -> BootstrapFunction {
        BootstrapFunction(function: function, name: name, environment: self.environment(environment), sandbox: sandbox,
                          bodyLimit: responseLimit, log: log)
    }

    /// Runs one call in a new process group on its own thread, the whole body in, the whole answer out.
    public func run(_ function: ProcessFunction, request: GuestRequest) async -> GuestResult {
        guard case .finished(let result) = await start(function, request: request, streams: .whole, onEnd: nil) else {
            preconditionFailure("a call without an output pipe cannot stream")
        }
        return result
    }

    /// Runs one call in a new process group on its own thread; returns once the answer's start is
    /// known (a streamed answer's end goes to `onEnd`).
    func start(_ function: ProcessFunction, request: GuestRequest, streams: ClassicStreams, onEnd: ClassicEnd?) async -> ClassicAnswer {
        let environment = environment(request.environment)
        let sandbox = sandbox
        let call = ClassicCall(request: request, timeout: function.settings.timeout, streams: streams)
        return await call.onThread(onEnd: onEnd) { call in
            call.run { stdin, stdout, stderr in
                Spawner.spawn(function, sandbox: sandbox, environment: environment, stdin: stdin, stdout: stdout, stderr: stderr)
                    .map { SpawnedProcess(pid: $0) as any CallProcess }
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
