import Foundation
import StratusModel

/// How a guest's run (a Wasm instance's or a classic process's) becomes the caller's answer: exit 0
/// answers 200 (or the integration response an API-gateway event format asks for), 65 answers 400
/// with what it printed, other exits and traps 500, the deadline 504.
enum GuestAnswer {
    /// The exit code (sysexits' EX_DATAERR) by which a function says the request itself was bad: 400.
    static let badInputExitCode: Int32 = 65

    /// The call's outcome: its answer, its stderr as log lines (with `before`/`after` around them), why it failed.
    static func outcome(_ result: GuestResult, settings: FunctionSettings, request: InvocationRequest, instance: String,
                        before: [String] = [], after: [String] = []) -> CallOutcome {
        var lines = before
        for line in String(decoding: result.stderr, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            lines.append(String(line))
        }
        let failure = failure(result.outcome, settings: settings)
        if let failure { lines.append(failure.logLine) }
        lines += after
        return CallOutcome(answer: answer(result, settings: settings, request: request), lines: lines, instance: instance,
                           failure: failure?.summary, coldStart: result.coldStart)
    }

    static func answer(_ result: GuestResult, settings: FunctionSettings, request: InvocationRequest) -> InvocationResult {
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
        case .exited(badInputExitCode):
            // EX_DATAERR: the function says the request was wrong; what it printed is the reason.
            let reason = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return plain(400, reason.isEmpty ? "the function rejected the request (exit code 65)" : reason, result.duration)
        case .exited(let code):
            return plain(500, "function exited with code \(code)", result.duration)
        case .trapped:
            return plain(500, "function trapped (see the function's log)", result.duration)
        case .timedOut:
            return plain(504, "function timed out after \(settings.timeout)s", result.duration)
        case .failed(let why):
            return plain(500, "function could not start: \(why)", result.duration)
        }
    }

    /// A plain-text answer with `status`.
    static func plain(_ status: Int, _ message: String, _ duration: Double, headers: [(name: String, value: String)] = []) -> InvocationResult {
        InvocationResult(status: status, body: Array((message + "\n").utf8), contentType: "text/plain; charset=utf-8", duration: duration,
                         headers: headers)
    }

    /// What the function's log and the summary line say about a run that did not end with exit 0.
    private static func failure(_ outcome: GuestOutcome, settings: FunctionSettings) -> (logLine: String, summary: String)? {
        switch outcome {
        case .exited(0): nil
        case .exited(let code): ("exit status \(code)", "exited with code \(code)")
        case .trapped(let reason): ("trapped: \(reason)", "trapped: \(reason)")
        case .timedOut: ("timed out after \(settings.timeout)s", "timed out after \(settings.timeout)s")
        case .failed(let why): ("could not run: \(why)", "could not start: \(why)")
        }
    }
}

/// How a call becomes a guest's input (Wasm or classic process): the event on stdin, the
/// function's environment and the watchdog's `Http_*` variables, argv[0] its name.
struct GuestCall: Sendable {
    let name: String
    let environment: [(String, String)]
    let settings: FunctionSettings
    /// Largest stdout the guest may write.
    let outputLimit: Int

    init(spec: FunctionSpec, settings: FunctionSettings, outputLimit: Int) {
        name = spec.name.rawValue
        environment = spec.orderedEnvironment
        self.settings = settings
        self.outputLimit = outputLimit
    }

    func request(for call: InvocationRequest) -> GuestRequest {
        GuestRequest(stdin: settings.eventFormat.event(for: call), environment: environment + call.watchdogEnvironment, arguments: [name],
                     outputLimit: outputLimit)
    }
}
