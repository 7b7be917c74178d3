import NIOCore
public import StratusModel
public import StratusProcess

/// One deployed function as the invoker drives it, whatever runs it (a Wasm module, a classic
/// process, http-mode replicas, a custom runtime): the one shape every kind has. Only
/// `FunctionFactory` knows the kinds; everything else talks to this.
public protocol DeployedFunction: AnyObject, Sendable {
    /// What users see as its runtime: `wasm`, `process` (classic), `http` or `bootstrap`.
    var kind: String { get }
    /// The Wasm engine that runs it (`wasmtime` or `wasmkit`); `nil` for the other kinds.
    var engine: String? { get }
    /// Replicas wanted, and ready for calls now.
    var replicas: ReplicaCount { get }
    /// Replicas wanted alone: cheap, read on every call (`replicas` also counts the ready ones).
    var desiredReplicas: Int { get }
    /// Warm instances parked (Wasm) or replicas ready: the metrics' instance gauge.
    var instances: Int { get }
    /// Starts or stops replicas until `count` are wanted (the caller clamps it to the function's range).
    func resize(to count: Int)
    /// Returns once a replica can take calls; throws why none could start.
    func waitUntilReady() async throws(InvokerError)
    /// Stops for good: calls in flight finish first, then its replicas go.
    func stop() async
    /// Runs one call with its whole body in hand; the answer comes back whole.
    func call(_ request: InvocationRequest) async -> CallOutcome
    /// Set when calls can stream their bodies to the function as they arrive (http mode, and
    /// classic functions that take the raw body).
    var streaming: (any StreamingFunction)? { get }
    /// Set when a call can be proxied to a replica leased without waiting (http mode): the
    /// gateway then carries it on its event loop (`Invoker.startDirect`).
    var leasing: HTTPFunction? { get }
    /// Set when a call can start at once, without a task, on a replica ready now (classic
    /// functions that take the raw body): the gateway then starts it from its event loop
    /// (`Invoker.startImmediate`).
    var immediate: (any ImmediateFunction)? { get }
}

extension DeployedFunction {
    /// Only http mode leases replicas.
    public var leasing: HTTPFunction? { nil }
    /// Only Wasm functions have an engine.
    public var engine: String? { nil }
    /// Only classic functions start calls without a task.
    public var immediate: (any ImmediateFunction)? { nil }
}

/// A function whose calls can start at once from any thread: `ticket` picks a replica that is
/// ready now (`nil`: none is, and the call takes the ordinary path).
public protocol ImmediateFunction: Sendable {
    func ticket() -> (any ImmediateTicket)?
}

/// A replica picked for one call. `start` runs the call (its body whole in `body`) off the caller's
/// thread; `onResponse` hears, from the call's thread, the answer's start (a whole answer, or one
/// that streams through its body); `onEnd` is told once when the call is over.
public protocol ImmediateTicket: Sendable {
    func start(_ request: InvocationRequest, body: ChunkPipe, onResponse: @escaping @Sendable (ProxyResponse) -> Void,
               onEnd: @escaping @Sendable (ProxyCallEnd) -> Void)
}

/// A function whose calls stream: the body goes in as it arrives (`request.body` is ignored) and
/// the answer comes back as it is written. `onEnd` is told once when the call is over.
public protocol StreamingFunction: Sendable {
    func forward(_ request: InvocationRequest, body: ChunkPipe, contentLength: Int?, onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) async
        -> ProxyResponse
}

/// A function's replicas: how many are wanted, and how many can take calls now.
public struct ReplicaCount: Sendable, Equatable {
    public var desired: Int
    public var available: Int

    public init(desired: Int, available: Int) {
        self.desired = desired
        self.available = available
    }
}

/// How one call went: the answer, and what the function's log gets for it.
public struct CallOutcome: Sendable {
    public var answer: InvocationResult
    /// Lines for the function's log before the call's summary line (its stderr, watchdog lines).
    public var lines: [String]
    /// Who wrote them: the log's instance column.
    public var instance: String
    /// Why the call failed, when it did: it ends the summary line and goes to the server log.
    public var failure: String?
    /// Whether a new instance or process had to be made for it.
    public var coldStart: Bool

    public init(answer: InvocationResult, lines: [String] = [], instance: String, failure: String? = nil, coldStart: Bool = false) {
        self.answer = answer
        self.lines = lines
        self.instance = instance
        self.failure = failure
        self.coldStart = coldStart
    }
}
