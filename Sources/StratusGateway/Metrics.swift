import Foundation
import Hummingbird
import Prometheus
import StratusInvoker
import StratusModel
import StratusWasm
import StratusQueue
import StratusStore
import Synchronization

/// Prometheus metrics under the OpenFaaS gateway's names, so its dashboards work, plus Stratus's own.
/// The invocation counts in `FunctionStatus` are these counters.
final class GatewayMetrics: InvocationObserver, Sendable {
    let registry = PrometheusCollectorRegistry()
    private let invocations = Mutex<[String: Int]>([:])
    /// Recent calls per function for the UI: the last durations, error count and 10 s buckets.
    private let recent = Mutex<[String: Recent]>([:])

    struct Recent {
        var durations: [Double] = []
        var next = 0
        var errors = 0
        /// Bucket start (unix seconds, multiple of 10) -> calls, errors, some durations.
        var buckets: [Int: (calls: Int, errors: Int, durations: [Double])] = [:]

        /// Counts one call, in place (the table's copy is the only one: no copy-on-write per call).
        mutating func record(_ milliseconds: Double, failed: Bool, bucket: Int) {
            if durations.count < 1000 { durations.append(milliseconds) } else { durations[next] = milliseconds }
            next = (next + 1) % 1000
            if failed { errors += 1 }
            if buckets[bucket] == nil {
                // A new 10 s bucket: drop those older than ten minutes.
                for key in buckets.keys where key < bucket - 600 { buckets[key] = nil }
                buckets[bucket] = (0, 0, [])
            }
            buckets[bucket]!.calls += 1
            if failed { buckets[bucket]!.errors += 1 }
            if buckets[bucket]!.durations.count < 200 { buckets[bucket]!.durations.append(milliseconds) }
        }
    }
    /// Queue counters already added to the Prometheus counters (they only go up).
    private let reported = Mutex(AsyncQueue.Counters())
    private let reportedCompiles = Mutex(CompileCounts())
    static let buckets: [Duration] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60].map { Duration.milliseconds(Int64($0 * 1000)) }

    func invocationStarted(_ name: FunctionName) {
        registry.makeCounter(name: "gateway_function_invocation_started", labels: [("function_name", name.qualified)],
                             help: "Calls that started (admitted past max_inflight), per function").increment()
    }

    func invocationFinished(_ name: FunctionName, status: Int, seconds: Double, coldStart: Bool) {
        let labels = [("function_name", name.qualified), ("code", String(status))]
        registry.makeCounter(name: "gateway_function_invocation_total", labels: labels, help: "Calls answered, per function and status code")
            .increment()
        registry.makeDurationHistogram(name: "gateway_functions_seconds", labels: labels, buckets: Self.buckets,
                                       help: "Seconds a call took, per function and status code")
            .record(Duration.nanoseconds(Int64(max(0, seconds) * 1e9)))
        if coldStart {
            registry.makeCounter(name: "stratus_cold_starts_total", labels: [("function_name", name.qualified)],
                                 help: "Calls served by a new instance or process").increment()
        }
        invocations.withLock { $0[name.qualified, default: 0] += 1 }
        let milliseconds = max(0, seconds) * 1000
        let bucket = Int(Date().timeIntervalSince1970) / 10 * 10
        recent.withLock { table in table[name.qualified, default: Recent()].record(milliseconds, failed: status >= 500, bucket: bucket) }
    }

    /// The UI's numbers for one function.
    func stats(_ name: FunctionName, runtime: String, replicas: Int, available: Int, deployedAt: Date?) -> FunctionStats {
        let count = invocationCount(name)
        let entry = recent.withLock { $0[name.qualified] } ?? Recent()
        func percentile(_ values: [Double], _ p: Double) -> Double? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
        }
        let series = entry.buckets.keys.sorted().map { key -> FunctionStats.Bucket in
            let slot = entry.buckets[key]!
            return FunctionStats.Bucket(t: key, calls: slot.calls, errors: slot.errors, p50Ms: percentile(slot.durations, 0.5) ?? 0)
        }
        return FunctionStats(name: name.qualified, runtime: runtime, replicas: replicas, availableReplicas: available, invocations: count,
                             errors: entry.errors, errorRate: count == 0 ? 0 : Double(entry.errors) / Double(count),
                             p50Ms: percentile(entry.durations, 0.5), p95Ms: percentile(entry.durations, 0.95), deployedAt: deployedAt,
                             series: series)
    }

    /// Calls `name` has answered since the server started.
    func invocationCount(_ name: FunctionName) -> Int {
        invocations.withLock { $0[name.qualified] ?? 0 }
    }

    /// Seconds one WASI-NN inference took.
    func inference(seconds: Double) {
        registry.makeDurationHistogram(name: "stratus_inference_seconds", labels: [], buckets: Self.buckets,
                                       help: "Seconds a WASI-NN compute took").record(Duration.nanoseconds(Int64(max(0, seconds) * 1e9)))
    }

    /// The exposition text, with the gauges read now.
    /// The Prometheus text; with `node`, every sample carries `node="…"` (each node of a cluster is scraped on its own).
    func render(functions: [FunctionSpec], invoker: Invoker, queue: AsyncQueue, counts: [AsyncCallState: Int], node: String? = nil) -> [UInt8] {
        for spec in functions {
            let name = spec.name.qualified
            registry.makeGauge(name: "gateway_service_count", labels: [("function_name", name)], help: "Replicas per function")
                .set(Double(invoker.replicas(spec.name).desired))
            registry.makeGauge(name: "stratus_function_instances", labels: [("function_name", name)],
                               help: "Warm Wasm instances parked, or http-mode replicas ready").set(Double(invoker.instances(spec.name)))
        }
        for state in AsyncCallState.allCases {
            registry.makeGauge(name: "stratus_async_queue_depth", labels: [("state", state.rawValue)], help: "Async calls per state")
                .set(Double(counts[state] ?? 0))
        }
        let now = queue.snapshot
        let before = reported.withLock { old in defer { old = now }; return old }
        func add(_ name: String, _ help: String, _ value: Int, _ previous: Int, labels: [(String, String)] = []) {
            registry.makeCounter(name: name, labels: labels, help: help).increment(by: Int64(max(0, value - previous)))
        }
        add("stratus_async_enqueued_total", "Async calls accepted", now.enqueued, before.enqueued)
        add("stratus_async_completed_total", "Async calls finished successfully", now.completed, before.completed)
        add("stratus_async_retries_total", "Async runs scheduled again after a retryable failure", now.retries, before.retries)
        add("stratus_async_dead_letters_total", "Async calls that failed for good", now.deadLettered, before.deadLettered)
        add("stratus_async_callbacks_total", "Callback deliveries", now.callbacksDelivered, before.callbacksDelivered, labels: [("result", "delivered")])
        add("stratus_async_callbacks_total", "Callback deliveries", now.callbackFailures, before.callbackFailures, labels: [("result", "failed")])
        add("stratus_async_fenced_total", "Async outcomes not recorded because another node had claimed the call since", now.fenced, before.fenced)
        let compiles = invoker.wasmCompileCounts
        let earlier = reportedCompiles.withLock { old in defer { old = compiles }; return old }
        let help = "Wasm modules made ready by Wasmtime: compiled, loaded from the compiled-code cache, or cached code refused (and compiled)"
        add("stratus_wasm_compiles_total", help, compiles.compiled, earlier.compiled, labels: [("source", "compiled")])
        add("stratus_wasm_compiles_total", help, compiles.loadedFromCache, earlier.loadedFromCache, labels: [("source", "cache")])
        add("stratus_wasm_compiles_total", help, compiles.rejected, earlier.rejected, labels: [("source", "refused")])
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        guard let node else { return bytes }
        return Self.labelled(bytes, node: node)
    }

    /// Adds `node="NODE"` to every sample line of a Prometheus text exposition.
    static func labelled(_ text: [UInt8], node: String) -> [UInt8] {
        let value = node.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        var out = ""
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty || line.hasPrefix("#") {
                out += line
            } else if let brace = line.firstIndex(of: "{") {
                let rest = line[line.index(after: brace)...]
                out += line[...brace] + "node=\"\(value)\"" + (rest.hasPrefix("}") ? "" : ",") + rest
            } else if let space = line.firstIndex(of: " ") {
                out += line[..<space] + "{node=\"\(value)\"}" + line[space...]
            } else {
                out += line
            }
            out += "\n"
        }
        if out.hasSuffix("\n\n") { out.removeLast() }
        return Array(out.utf8)
    }
}

/// Times every inference of the wrapped backend's models.
struct TimedInferenceBackend: InferenceBackend {
    let backend: any InferenceBackend
    let metrics: GatewayMetrics

    var name: String { backend.name }

    func model(digest: Digest, bytes: [UInt8]) throws(InferenceError) -> any InferenceModel {
        TimedModel(model: try backend.model(digest: digest, bytes: bytes), metrics: metrics)
    }
}

struct TimedModel: InferenceModel {
    let model: any InferenceModel
    let metrics: GatewayMetrics

    var inputs: [TensorInfo] { model.inputs }
    var outputs: [TensorInfo] { model.outputs }

    func run(_ inputs: [Tensor]) throws(InferenceError) -> [Tensor] {
        let start = ContinuousClock.now
        defer { metrics.inference(seconds: start.duration(to: .now).seconds) }
        return try model.run(inputs)
    }
}
