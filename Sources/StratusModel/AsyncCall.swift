public import Foundation

/// Where an async call is: waiting (first time or between retries), running, delivering its result
/// to the callback URL, or failed for good (the dead-letter list).
public enum AsyncCallState: String, Codable, Sendable, CaseIterable {
    case pending, running, delivering, failed
}

/// A call accepted by `POST /async-function/NAME`, stored before the 202 and kept until it is done.
public struct AsyncCall: Sendable, Equatable {
    public var id: String
    public var function: FunctionName
    public var method: String
    public var path: String
    public var query: String
    public var headers: [[String]]
    public var body: [UInt8]
    public var callbackURL: String?
    public var state: AsyncCallState
    /// Runs started so far (the one running included).
    public var attempts: Int
    /// Callback deliveries tried so far.
    public var callbackAttempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date
    /// The last run's status and why it failed, when it did.
    public var lastStatus: Int?
    public var lastError: String?
    /// The answer being delivered to the callback (state `delivering`).
    public var result: AsyncResult?
    /// The fence of the claim this copy was taken under: it grows by one each time a worker claims the
    /// call (to run it or to deliver its result). Outcomes are recorded only under the claim that
    /// holds it now, so a worker whose lease was taken over (a node cut off, then back) cannot record
    /// a second outcome.
    public var claim: Int = 0

    public init(id: String, function: FunctionName, method: String, path: String, query: String, headers: [[String]], body: [UInt8],
                callbackURL: String?, createdAt: Date = Date()) {
        self.id = id
        self.function = function
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.callbackURL = callbackURL
        self.state = .pending
        self.attempts = 0
        self.callbackAttempts = 0
        self.createdAt = createdAt
        self.nextAttemptAt = createdAt
    }

    /// The call as a request to the invoker.
    public var invocation: InvocationRequest {
        InvocationRequest(method: method, path: path, query: query, headers: headers.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil },
                          body: body, callID: id)
    }
}

/// A finished run's answer, kept while it is delivered to the callback URL.
public struct AsyncResult: Sendable, Equatable, Codable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String?
    public var duration: Double

    public init(status: Int, body: [UInt8], contentType: String?, duration: Double) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.duration = duration
    }
}

/// One queued call as `GET /system/queue` lists it (no bodies).
public struct QueueEntry: Codable, Sendable, Equatable {
    public var id: String
    public var function: String
    public var state: AsyncCallState
    public var attempts: Int
    public var callbackAttempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date
    public var lastStatus: Int?
    public var lastError: String?
    public var callbackURL: String?
    public var bodySize: Int

    public init(_ call: AsyncCall) {
        id = call.id
        function = call.function.qualified
        state = call.state
        attempts = call.attempts
        callbackAttempts = call.callbackAttempts
        createdAt = call.createdAt
        nextAttemptAt = call.nextAttemptAt
        lastStatus = call.lastStatus
        lastError = call.lastError
        callbackURL = call.callbackURL
        bodySize = call.body.count
    }
}

/// `GET /system/queue`: counts per state and the calls (oldest first, at most `limit`).
public struct QueueSummary: Codable, Sendable, Equatable {
    public var pending: Int
    public var running: Int
    public var delivering: Int
    public var failed: Int
    public var calls: [QueueEntry]

    public init(counts: [AsyncCallState: Int], calls: [QueueEntry]) {
        pending = counts[.pending] ?? 0
        running = counts[.running] ?? 0
        delivering = counts[.delivering] ?? 0
        failed = counts[.failed] ?? 0
        self.calls = calls
    }
}

/// When and how often a failed async call is run again (OpenFaaS's `com.openfaas.retry.*` annotations).
public struct RetryPolicy: Sendable, Equatable {
    public static let attemptsAnnotation = "com.openfaas.retry.attempts"
    public static let codesAnnotation = "com.openfaas.retry.codes"
    public static let minWaitAnnotation = "com.openfaas.retry.min_wait"
    public static let maxWaitAnnotation = "com.openfaas.retry.max_wait"

    /// Runs in all, the first included.
    public var attempts = 10
    /// Statuses worth another try; timeouts answer 504.
    public var codes: Set<Int> = [408, 429, 500, 502, 503, 504]
    /// Seconds before the first retry; each next one waits twice as long, up to `maxWait`.
    public var minWait: Double = 5
    public var maxWait: Double = 120

    public init() {}

    /// Seconds to wait after run number `attempt` (1-based) failed.
    public func delay(afterAttempt attempt: Int) -> Double {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        return min(maxWait, minWait * pow(2, exponent))
    }

    init(annotations: [String: String]) throws(ModelError) {
        if let text = annotations[Self.attemptsAnnotation] {
            guard let value = Int(text), (1...100).contains(value) else { throw ModelError.invalidLimit(Self.attemptsAnnotation, text) }
            attempts = value
        }
        if let text = annotations[Self.codesAnnotation] {
            var parsed: Set<Int> = []
            for part in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
                guard let code = Int(part), (100...599).contains(code) else { throw ModelError.invalidLimit(Self.codesAnnotation, text) }
                parsed.insert(code)
            }
            codes = parsed
        }
        if let text = annotations[Self.minWaitAnnotation] { minWait = try Quantities.duration(text) }
        if let text = annotations[Self.maxWaitAnnotation] { maxWait = try Quantities.duration(text) }
        guard minWait <= maxWait else { throw ModelError.invalidLimit(Self.minWaitAnnotation, "\(minWait)s (above max_wait \(maxWait)s)") }
    }
}
