public import Logging
public import StratusModel
public import StratusWasm
import Synchronization

/// Routes invocations to deployed functions and keeps their call statistics.
public final class Invoker: Sendable {
    private struct Deployed: Sendable {
        let spec: FunctionSpec
        let function: WasmFunction
        /// The function's own environment, in a stable order, computed once at deploy.
        let environment: [(String, String)]
    }

    private let runtime: WasmRuntime
    private let logger: Logger
    private let deployed = Mutex<[FunctionName: Deployed]>([:])
    private let counts = Mutex<[FunctionName: Int]>([:])
    /// Largest response body a function may write.
    public let responseLimit: Int

    public init(runtime: WasmRuntime, logger: Logger, responseLimit: Int = 64 * 1024 * 1024) {
        self.runtime = runtime
        self.logger = logger
        self.responseLimit = responseLimit
    }

    /// Checks that `bytes` is a deployable module (WASI command, known imports, valid code).
    public func validateArtifact(digest: Digest, bytes: [UInt8]) async throws(InvokerError) {
        do { try await runtime.validate(digest: digest, bytes: bytes) } catch { throw .invalidArtifact(error) }
    }

    /// Checks a spec's settings without deploying it.
    public func validateSettings(_ spec: FunctionSpec) throws(InvokerError) -> FunctionSettings {
        do { return try spec.settings() } catch { throw .invalidSettings(error) }
    }

    /// Makes `spec` callable, replacing any earlier version once the new one has a warm instance.
    public func deploy(_ spec: FunctionSpec, artifact bytes: [UInt8]) async throws(InvokerError) {
        let settings = try validateSettings(spec)
        let function: WasmFunction
        do {
            let module = try runtime.prepare(digest: spec.artifact, bytes: bytes)
            function = try await runtime.load(module, settings: settings)
        } catch {
            throw .invalidArtifact(error)
        }
        let environment = spec.envVars.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        deployed.withLock { $0[spec.name] = Deployed(spec: spec, function: function, environment: environment) }
        logger.info("deployed", metadata: ["function": "\(spec.name)", "digest": "\(spec.artifact)"])
    }

    /// Stops routing calls to `name`; calls in flight finish.
    public func undeploy(_ name: FunctionName) {
        let remaining = deployed.withLock { table -> Set<Digest> in
            table[name] = nil
            return Set(table.values.map(\.spec.artifact))
        }
        counts.withLock { $0[name] = nil }
        runtime.evict(except: remaining)
    }

    /// How many calls `name` has answered since it was deployed in this process.
    public func invocationCount(_ name: FunctionName) -> Int {
        counts.withLock { $0[name] ?? 0 }
    }

    /// Whether `name` is deployed and ready.
    public func isReady(_ name: FunctionName) -> Bool {
        deployed.withLock { $0[name] != nil }
    }

    /// Runs one call of `name`.
    public func invoke(_ name: FunctionName, _ request: InvocationRequest) async throws(InvokerError) -> InvocationResult {
        guard let target = deployed.withLock({ $0[name] }) else { throw .functionNotFound(name) }
        let environment = target.environment + request.watchdogEnvironment
        let guest = GuestRequest(stdin: request.body, environment: environment, arguments: [name.rawValue], outputLimit: responseLimit)
        let result = await runtime.run(target.function, request: guest)
        counts.withLock { $0[name, default: 0] += 1 }
        logGuestOutput(name: name, callID: request.callID, result: result)
        return response(for: result, function: target.function, request: request)
    }

    private func response(for result: GuestResult, function: WasmFunction, request: InvocationRequest) -> InvocationResult {
        let requestType = request.headers.first { $0.name.lowercased() == "content-type" }?.value
        switch result.outcome {
        case .exited(0):
            let type = function.settings.contentType ?? requestType ?? "text/plain; charset=utf-8"
            return InvocationResult(status: 200, body: result.stdout, contentType: type, duration: result.duration)
        case .exited(let code):
            return failure(500, "function exited with code \(code)", result)
        case .trapped:
            return failure(500, "function trapped (see the function's log)", result)
        case .timedOut:
            return failure(504, "function timed out after \(function.settings.timeout)s", result)
        case .failed(let why):
            return failure(500, "function could not start: \(why)", result)
        }
    }

    private func failure(_ status: Int, _ message: String, _ result: GuestResult) -> InvocationResult {
        InvocationResult(status: status, body: Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8", duration: result.duration)
    }

    private func logGuestOutput(name: FunctionName, callID: String, result: GuestResult) {
        let metadata: Logger.Metadata = ["function": "\(name)", "call_id": "\(callID)"]
        for line in String(decoding: result.stderr, as: UTF8.self).split(separator: "\n") {
            logger.info("\(line)", metadata: metadata.merging(["stream": "stderr"]) { a, _ in a })
        }
        switch result.outcome {
        case .exited(0): break
        case .exited(let code): logger.warning("function exited with code \(code)", metadata: metadata)
        case .trapped(let reason): logger.warning("function trapped: \(reason)", metadata: metadata)
        case .timedOut: logger.warning("function timed out", metadata: metadata)
        case .failed(let why): logger.error("function could not start: \(why)", metadata: metadata)
        }
    }
}
