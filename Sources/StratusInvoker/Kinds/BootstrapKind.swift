import StratusModel
import StratusProcess

/// A custom-runtime function: replicas of its `bootstrap`, each taking one event at a time
/// through its own runtime API.
final class BootstrapKind: ReplicatedKind {
    let function: BootstrapFunction
    let settings: FunctionSettings

    init(function: BootstrapFunction, settings: FunctionSettings) {
        self.function = function
        self.settings = settings
    }

    var kind: String { "bootstrap" }
    var streaming: (any StreamingFunction)? { nil }

    /// The event alone goes to a free bootstrap (it has its own environment); its posted answer comes back.
    func call(_ request: InvocationRequest) async -> CallOutcome {
        let start = ContinuousClock.now
        let outcome = await function.invoke(event: settings.eventFormat.event(for: request), requestID: request.callID)
        let seconds = start.duration(to: .now).seconds
        switch outcome {
        case .response(let body):
            let result = GuestResult(outcome: .exited(0), stdout: body, stderr: [], duration: seconds, coldStart: false)
            return CallOutcome(answer: GuestAnswer.answer(result, settings: settings, request: request), instance: "runtime-api")
        case .functionError(let type, let message):
            let answer = GuestAnswer.plain(502, "function error (\(type)): \(message)", seconds, headers: [("X-Function-Error", type)])
            return CallOutcome(answer: answer, instance: "runtime-api", failure: "\(type): \(message)")
        case .failed(let status, let message):
            return CallOutcome(answer: GuestAnswer.plain(status, message, seconds), instance: "runtime-api", failure: message)
        }
    }
}
