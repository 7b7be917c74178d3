import Foundation
import NIOCore
import StratusModel
import StratusProcess

/// A classic-watchdog function: a fresh process per call, body on stdin, answer on stdout. Its
/// replicas are launchers that fork the process for each call inside the sandbox. With the raw
/// event format its calls stream: the body goes to the process's stdin as it arrives, and an
/// answer larger than `streamAfter` streams back while the process runs.
final class ClassicKind: ReplicatedKind, StreamingFunction {
    let function: ClassicFunction
    let guest: GuestCall
    /// The command as deployed (`fprocess`), for the log.
    let command: String

    /// Answer bytes held before the answer starts streaming: an answer that fits still gets the
    /// status its exit code says; past it the status is 200 and a failure cuts the answer short.
    static let streamAfter = 1 << 20

    init(function: ClassicFunction, guest: GuestCall, command: String) {
        self.function = function
        self.guest = guest
        self.command = command
    }

    var kind: String { "process" }
    /// An event format wraps the whole body in an event: only raw calls can stream.
    var streaming: (any StreamingFunction)? { guest.settings.eventFormat == .raw ? self : nil }

    func call(_ request: InvocationRequest) async -> CallOutcome {
        let result = await function.run(guest.request(for: request))
        return outcome(result, written: result.stdout.count, request: request)
    }

    /// Raw calls can start at once on a ready launcher (see `ImmediateFunction`).
    var immediate: (any ImmediateFunction)? { guest.settings.eventFormat == .raw ? self : nil }

    func forward(_ request: InvocationRequest, body: ChunkPipe, contentLength: Int?, onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) async
        -> ProxyResponse {
        let output = ChunkPipe()
        let streams = ClassicStreams(input: body, output: output, streamAfter: Self.streamAfter)
        let started = await function.start(guest.request(for: request), streams: streams, onEnd: streamedEnd(request, onEnd: onEnd))
        return response(started, request: request, output: output, onEnd: onEnd)
    }

    /// How a call that streamed ends: its log lines and summary.
    fileprivate func streamedEnd(_ request: InvocationRequest, onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) -> ClassicEnd {
        { [self] result, written in
            let outcome = outcome(result, written: written, request: request)
            onEnd(ProxyCallEnd(instance: outcome.instance, status: 200, bytes: written, duration: result.duration, error: outcome.failure,
                               lines: outcome.lines))
        }
    }

    /// The answer as the caller gets it: whole (its status from the exit code), or streaming.
    fileprivate func response(_ started: ClassicAnswer, request: InvocationRequest, output: ChunkPipe,
                              onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) -> ProxyResponse {
        switch started {
        case .finished(let result):
            let outcome = outcome(result, written: result.stdout.count, request: request)
            let answer = outcome.answer
            onEnd(ProxyCallEnd(instance: outcome.instance, status: answer.status, bytes: answer.body.count, duration: answer.duration,
                               error: outcome.failure, lines: outcome.lines))
            var headers = answer.headers.map { ($0.name, $0.value) }
            if let type = answer.contentType { headers.append(("Content-Type", type)) }
            return ProxyResponse(status: answer.status, headers: headers, body: ProxyBody(ByteBuffer(bytes: answer.body)))
        case .streaming:
            let type = guest.settings.contentType ?? request.headers.first { $0.name.lowercased() == "content-type" }?.value
                ?? "text/plain; charset=utf-8"
            return ProxyResponse(status: 200, headers: [("Content-Type", type)], body: ProxyBody(output))
        }
    }

    /// The answer and log lines of a run: the classic watchdog's own lines around the process's stderr.
    private func outcome(_ result: GuestResult, written: Int, request: InvocationRequest) -> CallOutcome {
        GuestAnswer.outcome(result, settings: guest.settings, request: request, instance: "process",
                            before: ["Forking fprocess: \(command)"],
                            after: ["Wrote \(written) Bytes - Duration: \(sixDecimalSeconds(result.duration)) seconds"])
    }
}

extension ClassicKind: ImmediateFunction {
    func ticket() -> (any ImmediateTicket)? {
        function.ticket().map { Ticket(kind: self, ticket: $0) }
    }

    struct Ticket: ImmediateTicket {
        let kind: ClassicKind
        let ticket: ClassicTicket

        func start(_ request: InvocationRequest, body: ChunkPipe, onResponse: @escaping @Sendable (ProxyResponse) -> Void,
                   onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) {
            let output = ChunkPipe()
            let streams = ClassicStreams(input: body, output: output, streamAfter: ClassicKind.streamAfter)
            ticket.start(kind.guest.request(for: request), streams: streams, onStart: { [kind] started in
                onResponse(kind.response(started, request: request, output: output, onEnd: onEnd))
            }, onEnd: kind.streamedEnd(request, onEnd: onEnd))
        }
    }
}
