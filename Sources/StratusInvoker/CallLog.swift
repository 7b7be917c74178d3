import Foundation
import Logging
import StratusModel
import StratusProcess
import Synchronization

/// Writes what one function's calls leave in its log: the function's own lines, then one summary
/// line per call (`POST / - 200 - ContentLength: 19B (0.0012s)`, as OpenFaaS's of-watchdog writes
/// it), at most `linesPerSecond` a second so a busy function does not flood its log (failures are
/// always written); failed calls also go to the server log with their call id.
final class CallLog: Sendable {
    /// Per-call summary lines a function's log gets each second at most; calls past that are
    /// counted in the metrics but not logged one by one.
    static let linesPerSecond = 20

    let name: FunctionName
    let namespace: String
    let sink: (any FunctionLogSink)?
    let logger: Logger
    private let second = Atomic<Int64>(0)
    private let written = Atomic<Int>(0)

    init(spec: FunctionSpec, sink: (any FunctionLogSink)?, logger: Logger) {
        name = spec.name
        namespace = spec.namespace
        self.sink = sink
        self.logger = logger
    }

    /// A call made with its body in hand.
    func record(_ outcome: CallOutcome, request: InvocationRequest) {
        var lines = outcome.lines
        if let summary = summary(request, status: outcome.answer.status, bytes: outcome.answer.body.count, seconds: outcome.answer.duration,
                                 failure: outcome.failure) {
            lines.append(summary)
        }
        write(lines, instance: outcome.instance)
        warnIfFailed(request, status: outcome.answer.status, failure: outcome.failure)
    }

    /// A streamed call, once its answer was sent.
    func record(_ end: ProxyCallEnd, request: InvocationRequest) {
        var lines = end.lines
        if let summary = summary(request, status: end.status, bytes: end.bytes, seconds: end.duration, failure: end.error) {
            lines.append(summary)
        }
        write(lines, instance: end.instance ?? "gateway")
        warnIfFailed(request, status: end.status, failure: end.error)
    }

    private func summary(_ request: InvocationRequest, status: Int, bytes: Int, seconds: Double, failure: String?) -> String? {
        guard failure != nil || takeLine() else { return nil }
        var text = "\(request.method) \(request.path) - \(status) - ContentLength: \(bytes)B (\(String(format: "%.4f", seconds))s)"
        if let failure { text += " - \(failure)" }
        return text
    }

    private func write(_ lines: [String], instance: String) {
        guard !lines.isEmpty else { return }
        sink?.record(lines.map { LogLine(name: name.rawValue, namespace: namespace, instance: instance, text: $0) })
    }

    private func warnIfFailed(_ request: InvocationRequest, status: Int, failure: String?) {
        guard status >= 500 else { return }
        var metadata: Logger.Metadata = ["function": "\(name)", "call_id": "\(request.callID)", "status": "\(status)"]
        if let failure { metadata["reason"] = "\(failure)" }
        logger.warning("function call failed", metadata: metadata)
    }

    /// Whether this call gets its summary line: the first `linesPerSecond` calls of each second do.
    private func takeLine() -> Bool {
        let now = Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000_000)
        if second.exchange(now, ordering: .relaxed) != now { written.store(0, ordering: .relaxed) }
        return written.add(1, ordering: .relaxed).newValue <= Self.linesPerSecond
    }
}
