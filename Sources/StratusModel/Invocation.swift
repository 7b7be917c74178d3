/// One call of a function, as the gateway hands it to the invoker.
public struct InvocationRequest: Sendable {
    public var method: String
    /// The path after `/function/<name>`, starting with `/` (just `/` when empty).
    public var path: String
    /// The raw query string without `?`.
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var callID: String

    public init(method: String = "POST", path: String = "/", query: String = "", headers: [(name: String, value: String)] = [], body: [UInt8] = [], callID: String = "") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.callID = callID
    }

    /// The OpenFaaS watchdog environment for this request (`Http_Method`, `Http_X_Foo`, …).
    public var watchdogEnvironment: [(String, String)] {
        var env: [(String, String)] = [("Http_Method", method), ("Http_Path", path), ("Http_Query", query)]
        for (name, value) in headers {
            let key = "Http_" + String(name.map { $0 == "-" ? "_" : $0 })
                .split(separator: "_", omittingEmptySubsequences: false)
                .map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
                .joined(separator: "_")
            env.append((key, value))
        }
        return env
    }
}

/// What a function answered.
public struct InvocationResult: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String?
    /// Seconds the function ran.
    public var duration: Double
    /// More response headers (from an API-gateway integration response).
    public var headers: [(name: String, value: String)] = []

    public init(status: Int, body: [UInt8], contentType: String? = nil, duration: Double, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.duration = duration
        self.headers = headers
    }
}

/// Seconds with six decimals, as `%.6f` writes them (`X-Duration-Seconds`, the watchdog's
/// "Duration" log line), without a format string on every call.
public func sixDecimalSeconds(_ value: Double) -> String {
    let micros = Int64((max(0, value) * 1e6).rounded())
    let fraction = String(micros % 1_000_000)
    return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
}
