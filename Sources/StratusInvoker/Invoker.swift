public import Logging
public import Foundation
public import NIOCore
public import StratusModel
public import StratusProcess
public import StratusWasm
import Synchronization

/// Routes invocations to deployed functions and keeps their call statistics.
public final class Invoker: Sendable {
    /// Where a deployed function runs.
    private enum Target: Sendable {
        case wasm(WasmFunction)
        case process(ProcessFunction)
        case http(HTTPFunction)
        case bootstrap(BootstrapFunction)

        var settings: FunctionSettings {
            switch self {
            case .wasm(let function): function.settings
            case .process(let function): function.settings
            case .http(let function): function.function.settings
            case .bootstrap(let function): function.function.settings
            }
        }
    }

    private final class Deployed: Sendable {
        let spec: FunctionSpec
        let target: Target
        /// The function's own environment, in a stable order, computed once at deploy.
        let environment: [(String, String)]
        /// Calls running now, for `max_inflight`.
        let inflight = Atomic<Int>(0)
        /// Per-call log lines written in the current second (at most `callLinesPerSecond`).
        let callLineSecond = Atomic<Int64>(0)
        let callLines = Atomic<Int>(0)

        /// Whether this call gets its summary line: the first `callLinesPerSecond` calls of each
        /// second do, so a busy function's log (and the store behind it) is not flooded.
        func takeCallLine() -> Bool {
            let second = Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000_000)
            if callLineSecond.exchange(second, ordering: .relaxed) != second { callLines.store(0, ordering: .relaxed) }
            return callLines.add(1, ordering: .relaxed).newValue <= Invoker.callLinesPerSecond
        }

        init(spec: FunctionSpec, target: Target) {
            self.spec = spec
            self.target = target
            environment = Self.environment(of: spec)
        }

        static func environment(of spec: FunctionSpec) -> [(String, String)] {
            spec.envVars.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }

    private let runtime: WasmRuntime
    private let processes: ProcessRuntime
    /// The inference engine Wasm functions reach through WASI-NN, when this server has one.
    public let inference: (any InferenceBackend)?
    private let logger: Logger
    private let logSink: (any FunctionLogSink)?
    private let deployed = Mutex<[FunctionName: Deployed]>([:])
    /// Told when calls start and finish (metrics and invocation counts).
    private let observer: (any InvocationObserver)?
    /// Largest response body a function may write.
    public let responseLimit: Int

    public init(runtime: WasmRuntime, processes: ProcessRuntime, inference: (any InferenceBackend)? = nil, logger: Logger,
                logSink: (any FunctionLogSink)? = nil, responseLimit: Int = 64 * 1024 * 1024, observer: (any InvocationObserver)? = nil) {
        self.observer = observer
        self.inference = inference
        self.logSink = logSink
        self.runtime = runtime
        self.processes = processes
        self.logger = logger
        self.responseLimit = responseLimit
    }

    /// Checks that `bytes` is deployable: a Wasm module (WASI command, known imports, valid code) or a bundle.
    public func validateArtifact(digest: Digest, bytes: [UInt8]) async throws(InvokerError) {
        if ProcessRuntime.isBundle(bytes) {
            do { try processes.validateBundle(bytes) } catch { throw .invalidProcess(error) }
            return
        }
        do { try await runtime.validate(digest: digest, bytes: bytes) } catch { throw .invalidArtifact(error) }
    }

    /// Checks that `bytes` are a model the inference engine loads (and keeps it loaded, so the first call is warm).
    public func validateModel(digest: Digest, bytes: [UInt8]) throws(InvokerError) {
        guard let inference else {
            throw .invalidModel(.unavailable("this server has no inference engine: run `make setup-models` (or set STRATUS_ONNXRUNTIME) and restart it"))
        }
        do { _ = try inference.model(digest: digest, bytes: bytes) } catch { throw .invalidModel(error) }
    }

    /// The runtime an artifact's bytes need.
    public static func runtime(for bytes: [UInt8]) -> FunctionRuntime {
        ProcessRuntime.isBundle(bytes) ? .process : .wasm
    }

    /// Checks a spec's settings without deploying it.
    public func validateSettings(_ spec: FunctionSpec) throws(InvokerError) -> FunctionSettings {
        do { return try spec.settings() } catch { throw .invalidSettings(error) }
    }

    /// Makes `spec` callable, replacing any earlier version once the new one is ready (a Wasm
    /// function has a warm instance; a process function's bundle is unpacked and its command found).
    /// `bytes` are the artifact's, `nil` for a host command.
    /// `secrets` is the folder a process function sees; `secretValues` the files a Wasm function sees.
    /// An http-mode function's replicas are started; with `waitUntilReady` the deploy fails (and the
    /// earlier version stays) unless one becomes ready, else they keep starting in the background.
    /// `models` are the ones a Wasm function declared (by name), loaded now so its first call is warm.
    /// `layers` is the folder of the function's merged layers, shown read-only at `/opt`.
    public func deploy(_ spec: FunctionSpec, artifact bytes: [UInt8]?, secrets: URL? = nil, secretValues: [String: [UInt8]] = [:],
                       layers: URL? = nil, models: [String: FunctionModels.Model] = [:], waitUntilReady: Bool = true) async throws(InvokerError) {
        for (_, model) in models.sorted(by: { $0.key < $1.key }) { try validateModel(digest: model.digest, bytes: model.bytes) }
        let settings = try validateSettings(spec)
        let target: Target
        switch (spec.kind, spec.artifact, bytes) {
        case (.wasm, let digest?, let bytes?):
            do {
                let module = try runtime.prepare(digest: digest, bytes: bytes)
                target = .wasm(try await runtime.load(module, settings: settings, secrets: secretValues, layers: layers,
                                                      models: FunctionModels(backend: inference, named: models)))
            } catch {
                throw .invalidArtifact(error)
            }
        case (.process, let digest, let bytes):
            do throws(ProcessError) {
                var bundle: URL?
                if let digest, let bytes { bundle = try processes.prepareBundle(digest: digest, bytes: bytes) }
                let function = try processes.load(command: spec.envProcess ?? "", bundle: bundle, settings: settings, secrets: secrets, layers: layers)
                if settings.mode == .bootstrap {
                    let replicas = processes.startBootstrap(function, name: spec.name.rawValue, environment: Deployed.environment(of: spec),
                                                            replicas: settings.replicas(requested: spec.replicas), responseLimit: responseLimit,
                                                            log: replicaLog(spec))
                    if waitUntilReady {
                        do throws(ProcessError) { try await replicas.waitUntilReady() } catch {
                            await replicas.stop()
                            throw error
                        }
                    }
                    target = .bootstrap(replicas)
                } else if settings.mode == .http {
                    let replicas = processes.startHTTP(function, name: spec.name.rawValue, environment: Deployed.environment(of: spec),
                                                       replicas: settings.replicas(requested: spec.replicas), log: replicaLog(spec))
                    if waitUntilReady {
                        do throws(ProcessError) { try await replicas.waitUntilReady() } catch {
                            await replicas.stop()
                            throw error
                        }
                    }
                    target = .http(replicas)
                } else {
                    target = .process(function)
                }
            } catch {
                throw .invalidProcess(error)
            }
        default:
            throw .invalidArtifact(.invalidModule("a Wasm function needs its module's bytes"))
        }
        let previous = deployed.withLock { table -> Deployed? in
            defer { table[spec.name] = Deployed(spec: spec, target: target) }
            return table[spec.name]
        }
        if case .http(let old)? = previous?.target { Task { await old.stop() } }
        if case .bootstrap(let old)? = previous?.target { Task { await old.stop() } }
        logger.info("deployed", metadata: [
            "function": "\(spec.name)", "runtime": "\(spec.kind.rawValue)", "digest": "\(spec.artifact?.description ?? "-")",
            "timeout": "\(settings.timeout)s", "max_inflight": "\(settings.maxInflight.map(String.init) ?? "-")",
        ])
    }

    /// Stops routing calls to `name`; calls in flight finish, then its replicas (if any) stop.
    public func undeploy(_ name: FunctionName) {
        let (removed, remaining) = deployed.withLock { table -> (Deployed?, Set<Digest>) in
            let removed = table.removeValue(forKey: name)
            return (removed, Set(table.values.compactMap(\.spec.artifact)))
        }
        runtime.evict(except: remaining)
        if case .http(let replicas)? = removed?.target { Task { await replicas.stop() } }
        if case .bootstrap(let replicas)? = removed?.target { Task { await replicas.stop() } }
    }

    /// Stops every http-mode replica (server shutdown); calls in flight finish first.
    public func stopAll() async {
        let all = deployed.withLock { table in table.values.map(\.target) }
        await withTaskGroup(of: Void.self) { group in
            for target in all {
                switch target {
                case .http(let replicas): group.addTask { await replicas.stop() }
                case .bootstrap(let replicas): group.addTask { await replicas.stop() }
                case .wasm, .process: break
                }
            }
        }
    }

    /// Replicas wanted and ready: an http-mode function's real count; Wasm and classic functions
    /// have one (the runtime that starts an instance or process per call) while deployed.
    public func replicas(_ name: FunctionName) -> (desired: Int, available: Int) {
        guard let entry = deployed.withLock({ $0[name] }) else { return (0, 0) }
        if case .http(let replicas) = entry.target { return (replicas.desiredReplicas, replicas.availableReplicas) }
        if case .bootstrap(let replicas) = entry.target { return (replicas.desiredReplicas, replicas.availableReplicas) }
        return (1, 1)
    }

    /// Sets an http-mode function's replica count (clamped to `com.openfaas.scale.max`); returns the
    /// count applied, `nil` for functions that do not run replicas (Wasm, classic).
    public func scale(_ name: FunctionName, to count: Int) throws(InvokerError) -> Int? {
        guard let entry = deployed.withLock({ $0[name] }) else { throw .functionNotFound(name) }
        switch entry.target {
        case .http(let replicas):
            replicas.scale(to: count)
            return replicas.desiredReplicas
        case .bootstrap(let replicas):
            replicas.scale(to: count)
            return replicas.desiredReplicas
        case .wasm, .process:
            return nil
        }
    }

    /// Proxies one call to an http-mode function, streaming `body` to its replica and the answer back.
    /// `request.body` is ignored. Over `max_inflight`, throws `.overloaded`.
    public func forward<Body: AsyncSequence & Sendable>(_ name: FunctionName, _ request: InvocationRequest, body: Body,
                                                        contentLength: Int?) async throws(InvokerError) -> ProxyResponse
    where Body.Element == ByteBuffer {
        guard let entry = deployed.withLock({ $0[name] }) else { throw .functionNotFound(name) }
        guard case .http(let replicas) = entry.target else { throw .functionNotFound(name) }
        let limit = entry.target.settings.maxInflight
        if let limit {
            guard await Self.admit(entry, limit: limit, wait: entry.target.settings.queueWait) else {
                observer?.invocationFinished(name, status: 429, seconds: 0, coldStart: false)
                throw .overloaded(name, limit: limit)
            }
        }
        // Started once admitted: a call holds its slot from here.
        observer?.invocationStarted(name)
        var headers = request.headers.filter { $0.0.lowercased() != "x-call-id" }
        headers.append(("X-Call-Id", request.callID))
        let head = ProxyRequest(method: request.method, path: request.path, query: request.query, headers: headers, contentLength: contentLength)
        let spec = entry.spec
        let sink = logSink
        let logger = logger
        let observer = observer
        let response = await replicas.forward(head, body: body) { end in
            if limit != nil { entry.inflight.subtract(1, ordering: .relaxed) }
            observer?.invocationFinished(name, status: end.status, seconds: end.duration, coldStart: false)
            var text = "\(request.method) \(request.path) - \(end.status) - ContentLength: \(end.bytes)B (\(String(format: "%.4f", end.duration))s)"
            if let error = end.error { text += " - \(error)" }
            sink?.record([LogLine(name: spec.name.rawValue, namespace: spec.namespace, instance: end.instance ?? "gateway", text: text)])
            if end.status >= 500 || end.error != nil {
                logger.warning("function call failed", metadata: ["function": "\(spec.name)", "call_id": "\(request.callID)", "status": "\(end.status)"])
            }
        }
        return response
    }

    /// An http-mode call with the whole body in hand and the whole answer collected.
    private func invokeBuffered(_ name: FunctionName, _ request: InvocationRequest) async throws(InvokerError) -> InvocationResult {
        let start = ContinuousClock.now
        let response = try await forward(name, request, body: OneBuffer(buffer: ByteBuffer(bytes: request.body)), contentLength: request.body.count)
        var body: [UInt8] = []
        var status = response.status
        do {
            for try await chunk in response.body {
                body += chunk.readableBytesView
                if body.count > responseLimit {
                    status = 500
                    body = Array("the response is over the limit of \(responseLimit) bytes\n".utf8)
                    break
                }
            }
        } catch {
            status = 502
            body = Array("the function's response was cut off: \(error)\n".utf8)
        }
        let type = response.headers.first { $0.0.lowercased() == "content-type" }?.1
        return InvocationResult(status: status, body: body, contentType: type, duration: start.duration(to: .now).seconds)
    }

    /// Where an http-mode function's replicas write their output: the function's log.
    private func replicaLog(_ spec: FunctionSpec) -> ReplicaLogSink {
        let sink = logSink
        let name = spec.name.rawValue
        let namespace = spec.namespace
        return { instance, lines in
            sink?.record(lines.map { LogLine(name: name, namespace: namespace, instance: instance, text: $0) })
        }
    }

    /// Takes one of `limit` slots, waiting up to `wait` seconds for one to free up (a short queue
    /// before 429); `false` when none did.
    private static func admit(_ entry: Deployed, limit: Int, wait: Double) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(wait)
        var pause = 1
        while true {
            if entry.inflight.add(1, ordering: .relaxed).newValue <= limit { return true }
            entry.inflight.subtract(1, ordering: .relaxed)
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(pause))
            pause = min(pause * 2, 10)
        }
    }

    /// One autoscaler step for every http-mode function (call about once a second).
    public func autoscaleTick() {
        let targets = deployed.withLock { table in table.values.map(\.target) }
        for target in targets {
            switch target {
            case .http(let replicas): replicas.autoscaleTick()
            case .bootstrap(let replicas): replicas.autoscaleTick()
            case .wasm, .process: break
            }
        }
    }

    /// Warm instances parked (Wasm) or replicas ready (http mode); 0 for classic process functions.
    public func instances(_ name: FunctionName) -> Int {
        guard let entry = deployed.withLock({ $0[name] }) else { return 0 }
        switch entry.target {
        case .wasm(let function): return function.warmInstances
        case .process: return 0
        case .http(let replicas): return replicas.availableReplicas
        case .bootstrap(let replicas): return replicas.availableReplicas
        }
    }

    /// How a call to `name` is made: its body buffered (Wasm, classic process) or streamed to a
    /// replica (http mode); `nil` when it is not deployed. One table look-up, on every call's path.
    public func callMode(_ name: FunctionName) -> CallMode? {
        guard let entry = deployed.withLock({ $0[name] }) else { return nil }
        if case .http = entry.target { return .streamed }
        return .buffered
    }

    /// The settings `name` was deployed with; `nil` when it is not deployed.
    public func settings(_ name: FunctionName) -> FunctionSettings? {
        deployed.withLock { $0[name] }?.target.settings
    }

    public enum CallMode: Sendable {
        case buffered, streamed
    }

    /// Runs one call of `name`.
    public func invoke(_ name: FunctionName, _ request: InvocationRequest) async throws(InvokerError) -> InvocationResult {
        guard let entry = deployed.withLock({ $0[name] }) else { throw .functionNotFound(name) }
        // http mode: forward() keeps its own max_inflight count.
        if case .http = entry.target { return try await invokeBuffered(name, request) }
        let settings = entry.target.settings
        if let limit = settings.maxInflight {
            guard await Self.admit(entry, limit: limit, wait: settings.queueWait) else {
                observer?.invocationFinished(name, status: 429, seconds: 0, coldStart: false)
                throw .overloaded(name, limit: limit)
            }
        }
        observer?.invocationStarted(name)
        defer { if settings.maxInflight != nil { entry.inflight.subtract(1, ordering: .relaxed) } }
        // A custom runtime gets the event alone (its bootstrap has its own environment).
        if case .bootstrap(let function) = entry.target {
            return await invokeBootstrap(entry, function, request: request, event: settings.eventFormat.event(for: request))
        }
        let environment = entry.environment + request.watchdogEnvironment
        let guest = GuestRequest(stdin: settings.eventFormat.event(for: request), environment: environment, arguments: [name.rawValue],
                                 outputLimit: responseLimit)
        let result: GuestResult
        switch entry.target {
        case .wasm(let function): result = await runtime.run(function, request: guest)
        case .process(let function): result = await processes.run(function, request: guest)
        case .http, .bootstrap: return try await invokeBuffered(name, request)  // not reached: returned above
        }
        let answer = response(for: result, settings: settings, request: request)
        logGuestOutput(entry, request: request, status: answer.status, result: result)
        observer?.invocationFinished(name, status: answer.status, seconds: result.duration, coldStart: result.coldStart)
        return answer
    }

    /// One call of a custom-runtime function: the event to a free bootstrap, its posted answer back.
    private func invokeBootstrap(_ entry: Deployed, _ function: BootstrapFunction, request: InvocationRequest, event: [UInt8]) async -> InvocationResult {
        let start = ContinuousClock.now
        let outcome = await function.invoke(event: event, requestID: request.callID)
        let seconds = start.duration(to: .now).seconds
        let settings = entry.target.settings
        let answer: InvocationResult
        var error: String?
        switch outcome {
        case .response(let body):
            let result = GuestResult(outcome: .exited(0), stdout: body, stderr: [], duration: seconds, coldStart: false)
            answer = response(for: result, settings: settings, request: request)
        case .functionError(let type, let message):
            error = "\(type): \(message)"
            answer = InvocationResult(status: 502, body: Array("function error (\(type)): \(message)\n".utf8), contentType: "text/plain; charset=utf-8",
                                      duration: seconds, headers: [("X-Function-Error", type)])
        case .failed(let status, let message):
            error = message
            answer = InvocationResult(status: status, body: Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8", duration: seconds)
        }
        if entry.takeCallLine() || error != nil {
            var text = "\(request.method) \(request.path) - \(answer.status) - ContentLength: \(answer.body.count)B (\(String(format: "%.4f", seconds))s)"
            if let error { text += " - \(error)" }
            logSink?.record([LogLine(name: entry.spec.name.rawValue, namespace: entry.spec.namespace, instance: "runtime-api", text: text)])
        }
        if answer.status >= 500 {
            logger.warning("function call failed", metadata: ["function": "\(entry.spec.name)", "call_id": "\(request.callID)", "status": "\(answer.status)"])
        }
        observer?.invocationFinished(entry.spec.name, status: answer.status, seconds: seconds, coldStart: false)
        return answer
    }

    private func response(for result: GuestResult, settings: FunctionSettings, request: InvocationRequest) -> InvocationResult {
        let requestType = request.headers.first { $0.name.lowercased() == "content-type" }?.value
        switch result.outcome {
        case .exited(0):
            if settings.eventFormat != .raw, let answer = EventFormat.integrationResponse(result.stdout) {
                let type = answer.headers.first { $0.name.lowercased() == "content-type" }?.value ?? settings.contentType ?? "application/json"
                return InvocationResult(status: answer.status, body: answer.body, contentType: type, duration: result.duration,
                                        headers: answer.headers.filter { $0.name.lowercased() != "content-type" })
            }
            let type = settings.contentType ?? requestType ?? "text/plain; charset=utf-8"
            return InvocationResult(status: 200, body: result.stdout, contentType: type, duration: result.duration)
        case .exited(Self.badInputExitCode):
            // EX_DATAERR: the function says the request was wrong; what it printed is the reason.
            let reason = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return failure(400, reason.isEmpty ? "the function rejected the request (exit code 65)" : reason, result)
        case .exited(let code):
            return failure(500, "function exited with code \(code)", result)
        case .trapped:
            return failure(500, "function trapped (see the function's log)", result)
        case .timedOut:
            return failure(504, "function timed out after \(settings.timeout)s", result)
        case .failed(let why):
            return failure(500, "function could not start: \(why)", result)
        }
    }

    /// The exit code (sysexits' EX_DATAERR) by which a function says the request itself was bad: 400.
    public static let badInputExitCode: Int32 = 65

    private func failure(_ status: Int, _ message: String, _ result: GuestResult) -> InvocationResult {
        InvocationResult(status: status, body: Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8", duration: result.duration)
    }

    /// Sends the call's stderr (and, for process functions, the watchdog's per-call lines) to the
    /// function's log, and failures to the server log.
    private func logGuestOutput(_ entry: Deployed, request: InvocationRequest, status: Int, result: GuestResult) {
        let spec = entry.spec
        let metadata: Logger.Metadata = ["function": "\(spec.name)", "call_id": "\(request.callID)"]
        let instance = spec.kind == .wasm ? "wasm" : "process"
        var lines: [LogLine] = []
        func add(_ text: String) {
            lines.append(LogLine(name: spec.name.rawValue, namespace: spec.namespace, instance: instance, text: text))
        }
        if spec.kind == .process { add("Forking fprocess: \(spec.envProcess ?? "")") }
        for line in String(decoding: result.stderr, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            add(String(line))
        }
        switch result.outcome {
        case .exited(0): break
        case .exited(let code):
            add("exit status \(code)")
            logger.warning("function exited with code \(code)", metadata: metadata)
        case .trapped(let reason):
            add("trapped: \(reason)")
            logger.warning("function trapped: \(reason)", metadata: metadata)
        case .timedOut:
            add("timed out after \(entry.target.settings.timeout)s")
            logger.warning("function timed out", metadata: metadata)
        case .failed(let why):
            add("could not run: \(why)")
            logger.error("function could not start: \(why)", metadata: metadata)
        }
        if spec.kind == .process { add("Wrote \(result.stdout.count) Bytes - Duration: \(String(format: "%.6f", result.duration)) seconds") }
        // One line per call, as the http-mode proxy and OpenFaaS's of-watchdog write them (up to
        // `callLinesPerSecond` per function and second).
        if spec.kind == .wasm, entry.takeCallLine() {
            add("\(request.method) \(request.path) - \(status) - ContentLength: \(result.stdout.count)B (\(String(format: "%.4f", result.duration))s)")
        }
        if !lines.isEmpty { logSink?.record(lines) }
    }

    /// Per-call summary lines a function's log gets each second at most; calls past that are
    /// counted in the metrics but not logged one by one.
    public static let callLinesPerSecond = 20
}

/// A body that is one buffer, as an async sequence.
private struct OneBuffer: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer

    func makeAsyncIterator() -> Iterator { Iterator(buffer: buffer) }

    struct Iterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        mutating func next() async -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }
}

/// Told when calls start and end, for metrics: every call through `invoke` or `forward`, async ones too.
public protocol InvocationObserver: Sendable {
    func invocationStarted(_ name: FunctionName)
    /// `status` is what the caller got (429 when turned away); `coldStart` when a new instance or process served it.
    func invocationFinished(_ name: FunctionName, status: Int, seconds: Double, coldStart: Bool)
}
