import Foundation
import StratusModel
import StratusProcess

/// A classic-watchdog function: a fresh process per call, body on stdin, answer on stdout. Its
/// replicas are launchers that fork the process for each call inside the sandbox.
final class ClassicKind: ReplicatedKind {
    let function: ClassicFunction
    let guest: GuestCall
    /// The command as deployed (`fprocess`), for the log.
    let command: String

    init(function: ClassicFunction, guest: GuestCall, command: String) {
        self.function = function
        self.guest = guest
        self.command = command
    }

    var kind: String { "process" }
    var streaming: (any StreamingFunction)? { nil }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        let result = await function.run(guest.request(for: request))
        // The classic watchdog's own lines around the process's stderr.
        return GuestAnswer.outcome(result, settings: guest.settings, request: request, instance: "process",
                                   before: ["Forking fprocess: \(command)"],
                                   after: ["Wrote \(result.stdout.count) Bytes - Duration: \(String(format: "%.6f", result.duration)) seconds"])
    }
}
