/// Runtime-neutral call types: what a runtime (Wasm or process) is handed and what it gives back.

/// What the runtime hands a guest: stdin, environment, argv.
public struct GuestRequest: Sendable {
    public var stdin: [UInt8]
    public var environment: [(String, String)]
    public var arguments: [String]
    public var outputLimit: Int

    public init(stdin: [UInt8], environment: [(String, String)], arguments: [String], outputLimit: Int = 64 * 1024 * 1024) {
        self.stdin = stdin
        self.environment = environment
        self.arguments = arguments
        self.outputLimit = outputLimit
    }
}

/// What a guest call produced.
public struct GuestResult: Sendable {
    public var outcome: GuestOutcome
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    public var duration: Double
    /// Whether this call had to create its instance.
    public var coldStart: Bool

    public init(outcome: GuestOutcome, stdout: [UInt8], stderr: [UInt8], duration: Double, coldStart: Bool) {
        self.outcome = outcome
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration
        self.coldStart = coldStart
    }
}

/// How a guest call ended.
public enum GuestOutcome: Sendable, Equatable {
    /// `_start` returned (code 0) or the guest called `proc_exit(code)` / the process exited with `code`.
    case exited(Int32)
    /// The guest trapped; the reason is for the function's log.
    case trapped(String)
    /// The call ran past its deadline and was stopped.
    case timedOut
    /// The call could not start (e.g. the instance's initial memory exceeds the cap, or the command is missing).
    case failed(String)
}

extension Duration {
    /// The duration in seconds, for reports and headers.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
