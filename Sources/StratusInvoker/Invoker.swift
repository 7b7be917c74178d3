public import Logging
public import Foundation
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

        var settings: FunctionSettings {
            switch self {
            case .wasm(let function): function.settings
            case .process(let function): function.settings
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

        init(spec: FunctionSpec, target: Target) {
            self.spec = spec
            self.target = target
            environment = spec.envVars.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }

    private let runtime: WasmRuntime
    private let processes: ProcessRuntime
    private let logger: Logger
    private let logSink: (any FunctionLogSink)?
    private let deployed = Mutex<[FunctionName: Deployed]>([:])
    private let counts = Mutex<[FunctionName: Int]>([:])
    /// Largest response body a function may write.
    public let responseLimit: Int

    public init(runtime: WasmRuntime, processes: ProcessRuntime, logger: Logger, logSink: (any FunctionLogSink)? = nil,
                responseLimit: Int = 64 * 1024 * 1024) {
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
    public func deploy(_ spec: FunctionSpec, artifact bytes: [UInt8]?, secrets: URL? = nil, secretValues: [String: [UInt8]] = [:]) async throws(InvokerError) {
        let settings = try validateSettings(spec)
        let target: Target
        switch (spec.kind, spec.artifact, bytes) {
        case (.wasm, let digest?, let bytes?):
            do {
                let module = try runtime.prepare(digest: digest, bytes: bytes)
                target = .wasm(try await runtime.load(module, settings: settings, secrets: secretValues))
            } catch {
                throw .invalidArtifact(error)
            }
        case (.process, let digest, let bytes):
            do {
                var bundle: URL?
                if let digest, let bytes { bundle = try processes.prepareBundle(digest: digest, bytes: bytes) }
                target = .process(try processes.load(command: spec.envProcess ?? "", bundle: bundle, settings: settings, secrets: secrets))
            } catch {
                throw .invalidProcess(error)
            }
        default:
            throw .invalidArtifact(.invalidModule("a Wasm function needs its module's bytes"))
        }
        deployed.withLock { $0[spec.name] = Deployed(spec: spec, target: target) }
        logger.info("deployed", metadata: ["function": "\(spec.name)", "runtime": "\(spec.kind.rawValue)", "digest": "\(spec.artifact?.description ?? "-")"])
    }

    /// Stops routing calls to `name`; calls in flight finish.
    public func undeploy(_ name: FunctionName) {
        let remaining = deployed.withLock { table -> Set<Digest> in
            table[name] = nil
            return Set(table.values.compactMap(\.spec.artifact))
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
        guard let entry = deployed.withLock({ $0[name] }) else { throw .functionNotFound(name) }
        let settings = entry.target.settings
        if let limit = settings.maxInflight {
            guard entry.inflight.add(1, ordering: .relaxed).newValue <= limit else {
                entry.inflight.subtract(1, ordering: .relaxed)
                throw .overloaded(name, limit: limit)
            }
        }
        defer { if settings.maxInflight != nil { entry.inflight.subtract(1, ordering: .relaxed) } }
        let environment = entry.environment + request.watchdogEnvironment
        let guest = GuestRequest(stdin: request.body, environment: environment, arguments: [name.rawValue], outputLimit: responseLimit)
        let result: GuestResult
        switch entry.target {
        case .wasm(let function): result = await runtime.run(function, request: guest)
        case .process(let function): result = await processes.run(function, request: guest)
        }
        counts.withLock { $0[name, default: 0] += 1 }
        logGuestOutput(entry, callID: request.callID, result: result)
        return response(for: result, settings: settings, request: request)
    }

    private func response(for result: GuestResult, settings: FunctionSettings, request: InvocationRequest) -> InvocationResult {
        let requestType = request.headers.first { $0.name.lowercased() == "content-type" }?.value
        switch result.outcome {
        case .exited(0):
            let type = settings.contentType ?? requestType ?? "text/plain; charset=utf-8"
            return InvocationResult(status: 200, body: result.stdout, contentType: type, duration: result.duration)
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

    private func failure(_ status: Int, _ message: String, _ result: GuestResult) -> InvocationResult {
        InvocationResult(status: status, body: Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8", duration: result.duration)
    }

    /// Sends the call's stderr (and, for process functions, the watchdog's per-call lines) to the
    /// function's log, and failures to the server log.
    private func logGuestOutput(_ entry: Deployed, callID: String, result: GuestResult) {
        let spec = entry.spec
        let metadata: Logger.Metadata = ["function": "\(spec.name)", "call_id": "\(callID)"]
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
        if !lines.isEmpty { logSink?.record(lines) }
    }
}
