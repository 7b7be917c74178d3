import Foundation
import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a call to a bootstrap function ended.
public enum BootstrapOutcome: Sendable, Equatable {
    /// The bootstrap posted this response.
    case response([UInt8])
    /// The bootstrap posted an error for the call (`…/invocation/…/error`).
    case functionError(type: String, message: String)
    /// No answer: the status the caller gets and why (502 crash or oversized answer, 503 no replica, 504 deadline).
    case failed(status: Int, message: String)
}

/// One event handed to a bootstrap: its request id, the event bytes and the caller waiting for
/// the outcome. The first outcome wins; later ones are dropped.
final class BootstrapInvocation: Sendable {
    let id: String
    let event: [UInt8]
    /// When the call's deadline is, as Unix epoch milliseconds (`Lambda-Runtime-Deadline-Ms`): set
    /// when a replica takes it, as the deadline's timer starts then (time spent waiting for a free
    /// replica does not count).
    private let deadline = Atomic<Int64>(0)
    let timeoutMs: Int64
    private let state = Mutex<(outcome: BootstrapOutcome?, waiter: CheckedContinuation<BootstrapOutcome, Never>?)>((nil, nil))

    init(id: String, event: [UInt8], timeout: Double) {
        self.id = id
        self.event = event
        timeoutMs = Int64(timeout * 1000)
    }

    /// Starts the deadline (a replica took the call).
    func startDeadline() {
        deadline.store(Int64(Date().timeIntervalSince1970 * 1000) + timeoutMs, ordering: .relaxed)
    }

    var deadlineMs: Int64 { deadline.load(ordering: .relaxed) }

    /// Sets the outcome unless one is set; `true` when this one won.
    @discardableResult
    func complete(_ outcome: BootstrapOutcome) -> Bool {
        let (won, waiter) = state.withLock { state -> (Bool, CheckedContinuation<BootstrapOutcome, Never>?) in
            guard state.outcome == nil else { return (false, nil) }
            state.outcome = outcome
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(returning: outcome)
        return won
    }

    /// The outcome, once there is one.
    func wait() async -> BootstrapOutcome {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> BootstrapOutcome? in
                if state.outcome == nil { state.waiter = continuation }
                return state.outcome
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

/// One running bootstrap process and the runtime API state it talks to: whether it finished
/// initialising, the `next` request it holds open, and the invocation it is working on.
final class BootstrapReplica: SupervisedReplica {
    enum Dialect: Sendable { case aws, scf }

    private enum Next: Sendable {
        case event(BootstrapInvocation)
        case refused(RuntimeAPIServer.Answer)
    }

    private struct State {
        var ready = false
        var dead = false
        /// Being retired: it takes no new events.
        var retiring = false
        var initFailure: String?
        /// The `next` request being held open: its connection's id and how to answer it.
        var waiter: (id: Int, reply: @Sendable (Next) -> Void)?
        var current: BootstrapInvocation?
        /// Whether `current` was handed to the bootstrap (else it waits for the next `next`).
        var delivered = false
        var process: ReplicaProcess?
        /// Its runtime API server and port, until the replica is released.
        var server: (RuntimeAPIServer, Int)?
    }

    let instance: String
    let functionName: String
    let settings: FunctionSettings
    private let state = Mutex(State())
    /// Told whenever this replica may have become free (callers waiting for one look again).
    private let onFree: @Sendable () -> Void

    init(instance: String, functionName: String, settings: FunctionSettings, onFree: @escaping @Sendable () -> Void = {}) {
        self.instance = instance
        self.functionName = functionName
        self.settings = settings
        self.onFree = onFree
    }

    func attach(_ process: ReplicaProcess) {
        state.withLock { $0.process = process }
    }

    /// Whether the connection from loopback port `peer` to the runtime API on `port` belongs to this
    /// replica's processes (waiting a moment for the process to be attached: it can connect first).
    /// Blocks (it reads /proc): call it off the event loops and the concurrency pool.
    func holds(connectionFrom peer: Int, to port: Int) -> Bool {
        for _ in 0..<200 {
            if let process = state.withLock({ $0.process }) {
                return ConnectionOwnership.heldByTree(peerPort: peer, localPort: port, root: process.pid)
            }
            usleep(5000)
        }
        return false
    }

    func attach(server: RuntimeAPIServer, port: Int) {
        state.withLock { $0.server = (server, port) }
    }

    /// Its runtime API server and port, once: whoever gets them closes and releases them.
    func detachServer() -> (RuntimeAPIServer, Int)? {
        state.withLock { state in
            defer { state.server = nil }
            return state.server
        }
    }

    /// Initialised (asked for its first event, or said ready), not gone and not retiring.
    var isReady: Bool { state.withLock { $0.ready && !$0.dead && !$0.retiring } }

    /// Working on an event.
    var isBusy: Bool { state.withLock { !$0.dead && $0.current != nil } }

    func stopTakingCalls() { state.withLock { $0.retiring = true } }

    /// Whether its bootstrap asked for an event or said it is ready (its init finished).
    var initialised: Bool { state.withLock { $0.ready } }

    /// What the bootstrap reported through `/runtime/init/error`, if it did.
    var initFailure: String? { state.withLock { $0.initFailure } }

    /// Gives `invocation` to this replica if it is free; `false` when it is not.
    func tryAssign(_ invocation: BootstrapInvocation) -> Bool {
        let (assigned, waiter) = state.withLock { state -> (Bool, (@Sendable (Next) -> Void)?) in
            guard state.ready, !state.dead, !state.retiring, state.current == nil else { return (false, nil) }
            invocation.startDeadline()
            state.current = invocation
            guard let waiter = state.waiter else {
                state.delivered = false
                return (true, nil)
            }
            state.waiter = nil
            state.delivered = true
            return (true, waiter.reply)
        }
        waiter?(.event(invocation))
        return assigned
    }

    /// Kills the process (its supervisor restarts it).
    func kill() {
        state.withLock { $0.process }?.signal(SIGKILL)
    }

    /// The process is gone: the call it was working on fails, a held `next` is let go.
    func ended(_ how: String) {
        let (waiter, current, wasReady) = state.withLock { state -> ((@Sendable (Next) -> Void)?, BootstrapInvocation?, Bool) in
            state.dead = true
            defer {
                state.waiter = nil
                state.current = nil
            }
            return (state.waiter?.reply, state.current, state.ready)
        }
        waiter?(.refused(.error(410, "Runtime.Stopping", "this runtime is stopping")))
        current?.complete(.failed(status: 502, message: wasReady
            ? "the function's bootstrap \(how) while handling the request (see `stratus logs \(functionName)`); it is being restarted"
            : "the function's bootstrap \(how) before it was ready"))
    }

    // MARK: Runtime API

    /// `GET …/runtime/invocation/next`: answers with the next event once there is one (a long
    /// poll). `connection` identifies the request, so a connection that closes while it waits can
    /// withdraw it (`withdraw`). `reply` is called once, from any thread.
    func next(dialect: Dialect, connection: Int, reply: @escaping @Sendable (RuntimeAPIServer.Answer) -> Void) {
        enum Step { case deliver(BootstrapInvocation), refuse(RuntimeAPIServer.Answer), wait }
        let answer: @Sendable (Next) -> Void = { [weak self] next in
            switch next {
            case .event(let invocation): reply(self?.eventAnswer(invocation, dialect: dialect) ?? .error(410, "Runtime.Stopping", "this runtime is stopping"))
            case .refused(let answer): reply(answer)
            }
        }
        var abandoned: BootstrapInvocation?
        var superseded: (@Sendable (Next) -> Void)?
        let step = state.withLock { state -> Step in
            if state.dead { return .refuse(.error(410, "Runtime.Stopping", "this runtime is stopping")) }
            // Asking again without answering the event in hand gives that call up.
            if state.waiter == nil, state.delivered, let current = state.current {
                abandoned = current
                state.current = nil
                state.delivered = false
            }
            // One `next` at a time: a newer one replaces the one waiting, which is answered 409
            // (its client may be gone: a runtime that lost its connection must not be locked out).
            superseded = state.waiter?.reply
            state.waiter = nil
            state.ready = true
            if let current = state.current, !state.delivered {
                state.delivered = true
                return .deliver(current)
            }
            state.waiter = (connection, answer)
            return .wait
        }
        if let abandoned {
            abandoned.complete(.failed(status: 502, message: "the function's bootstrap asked for the next event without answering request \(abandoned.id)"))
        }
        superseded?(.refused(.error(409, "Runtime.ConcurrentNext",
            "a newer GET /runtime/invocation/next replaced this one: a runtime asks for one event at a time")))
        switch step {
        case .deliver(let invocation): answer(.event(invocation))
        case .refuse(let refusal): reply(refusal)
        case .wait: onFree()  // ready (perhaps for the first time) and waiting for work
        }
        if abandoned != nil { onFree() }
    }

    /// The connection of a waiting `next` closed: forget it (an event is not handed to a dead connection).
    func withdraw(connection: Int) {
        state.withLock { state in
            if state.waiter?.id == connection { state.waiter = nil }
        }
    }

    private func eventAnswer(_ invocation: BootstrapInvocation, dialect: Dialect) -> RuntimeAPIServer.Answer {
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        switch dialect {
        case .aws:
            headers += [
                ("Lambda-Runtime-Aws-Request-Id", invocation.id),
                ("Lambda-Runtime-Deadline-Ms", String(invocation.deadlineMs)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:local:000000000000:function:\(functionName)"),
                ("Lambda-Runtime-Trace-Id", "Root=1-\(String(invocation.deadlineMs / 1000, radix: 16))-\(invocation.id.replacingOccurrences(of: "-", with: "").prefix(24));Sampled=0"),
            ]
        case .scf:
            headers += [
                ("request_id", invocation.id),
                ("memory_limit_in_mb", String(settings.memoryLimit / (1024 * 1024))),
                ("time_limit_in_ms", String(invocation.timeoutMs)),
            ]
        }
        return RuntimeAPIServer.Answer(status: 200, headers: headers, body: invocation.event)
    }

    /// The invocation a response or error is for: the one in hand, when `id` is nil or matches.
    private func take(id: String?) -> Taken {
        state.withLock { state in
            guard let current = state.current, state.delivered else {
                return Taken.failure(.error(400, "InvalidRequestID", "no invocation\(id.map { " with id \($0)" } ?? "") is in progress on this runtime"))
            }
            if let id, id != current.id {
                return Taken.failure(.error(400, "InvalidRequestID", "unknown request id \(id): the invocation in progress is \(current.id)"))
            }
            state.current = nil
            state.delivered = false
            return Taken.success(current)
        }
    }

    private enum Taken {
        case success(BootstrapInvocation)
        case failure(RuntimeAPIServer.Answer)
    }

    /// `POST …/invocation/{id}/response`.
    func response(id: String?, body: [UInt8]) -> RuntimeAPIServer.Answer {
        switch take(id: id) {
        case .failure(let answer): return answer
        case .success(let invocation):
            invocation.complete(.response(body))
            onFree()
            return .accepted()
        }
    }

    /// `POST …/invocation/{id}/error`: `{"errorMessage", "errorType"}` (or any text).
    func error(id: String?, body: [UInt8], type: String?) -> RuntimeAPIServer.Answer {
        switch take(id: id) {
        case .failure(let answer): return answer
        case .success(let invocation):
            let (errorType, message) = Self.describeError(body, type: type)
            invocation.complete(.functionError(type: errorType, message: message))
            onFree()
            return .accepted()
        }
    }

    /// A response or error body over the limit: the call fails with 502, the bootstrap gets 413.
    func oversized(id: String?, limit: Int) -> RuntimeAPIServer.Answer {
        if case .success(let invocation) = take(id: id) {
            invocation.complete(.failed(status: 502, message: "the function's response is over the limit of \(limit) bytes"))
            onFree()
        }
        return .error(413, "RequestEntityTooLarge", "the response is over the limit of \(limit) bytes")
    }

    /// `POST …/runtime/init/error`: the bootstrap could not start; it is stopped.
    func initError(body: [UInt8], type: String?) -> RuntimeAPIServer.Answer {
        let (errorType, message) = Self.describeError(body, type: type)
        let process = state.withLock { state -> ReplicaProcess? in
            state.initFailure = "init error \(errorType): \(message)"
            state.ready = false
            return state.process
        }
        // It should exit by itself; if it does not, it goes after a moment.
        Task {
            try? await Task.sleep(for: .milliseconds(500))
            process?.signal(SIGKILL)
        }
        return .accepted()
    }

    /// `POST /runtime/init/ready` (SCF): initialised.
    func initReady() -> RuntimeAPIServer.Answer {
        state.withLock { $0.ready = true }
        onFree()
        return .ok()
    }

    /// The error type and message of an error body: the Lambda JSON shape, or plain text.
    static func describeError(_ body: [UInt8], type: String?) -> (type: String, message: String) {
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            let message = (object["errorMessage"] as? String) ?? (object["message"] as? String) ?? String(decoding: body, as: UTF8.self)
            return ((object["errorType"] as? String) ?? type ?? "Unhandled", message)
        }
        let text = String(decoding: body.prefix(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (type ?? "Unhandled", text.isEmpty ? "(no message)" : text)
    }
}
