import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
public import StratusInvoker
public import StratusModel
public import StratusStore
import Synchronization

/// Async invocations: every call is stored before it is accepted, run by a bounded pool of workers,
/// retried with exponential backoff on retryable answers, its result POSTed to the caller's
/// callback URL (itself retried), and kept in a dead-letter list when it fails for good. A call
/// running when the server dies runs again after the restart (at-least-once).
public final class AsyncQueue: Service, Sendable {
    public struct Configuration: Sendable {
        /// Async calls running at once, all functions together.
        public var workers = 32
        /// Tries to deliver a result to its callback URL before the call is dead-lettered.
        public var callbackAttempts = 10
        /// Wait before the first callback retry; doubles each time, up to `callbackMaxWait`.
        public var callbackMinWait: Double = 1
        public var callbackMaxWait: Double = 60
        /// A callback that takes longer has failed.
        public var callbackTimeout: Double = 10
        /// Seconds a shutdown waits for running calls (the rest run again after the restart).
        public var shutdownGrace: Double = 10
        /// This node's name: claims are made in it, and after a restart its own leftover calls run again.
        public var node = "local"
        /// How long a claim holds a call without being extended; a worker extends it every third of
        /// that while the call runs. When a node dies, its calls run elsewhere after at most this long.
        public var lease: Double = 30
        /// The longest an idle dispatcher sleeps before it looks at the queue again; wake-ups (a
        /// local enqueue, a notification from another node) come sooner.
        public var idleRecheck: Double = 1

        public init() {}
    }

    /// What the queue has done since the server started, for /metrics.
    public struct Counters: Sendable {
        public var enqueued = 0
        public var completed = 0
        public var retries = 0
        public var deadLettered = 0
        public var callbacksDelivered = 0
        public var callbackFailures = 0
        /// Outcomes not recorded because the call's lease had been taken over by another claim.
        public var fenced = 0

        public init() {}
    }

    private let store: any QueueStore & TimerStore
    private let invoker: Invoker
    private let configuration: Configuration
    private let logger: Logger
    private let client: HTTPClient
    private let wakeups: AsyncStream<Void>.Continuation
    private let wakeupStream: AsyncStream<Void>
    /// Calls running now, per function and in all (deliveries included).
    private let active = Mutex<(perFunction: [String: Int], total: Int)>(([:], 0))
    private let counters = Mutex(Counters())

    public init(store: any QueueStore & TimerStore, invoker: Invoker, configuration: Configuration = Configuration(), logger: Logger) {
        self.store = store
        self.invoker = invoker
        self.configuration = configuration
        self.logger = logger
        client = HTTPClient.shared
        (wakeupStream, wakeups) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    /// Stores the call (durably) and wakes a worker. Throws when the store cannot take it.
    public func enqueue(_ call: AsyncCall) async throws(StoreError) {
        try await store.enqueue(call)
        counters.withLock { $0.enqueued += 1 }
        wakeups.yield()
    }

    /// Wakes the dispatcher (after a retry from the dead-letter list, say).
    public func wake() { wakeups.yield() }

    /// The dispatcher: claims due calls while workers are free, sleeps until the next is due.
    public func run() async throws {
        let recovered = try await store.recoverRunning(node: configuration.node)
        if recovered > 0 { logger.notice("async calls interrupted by the last stop run again", metadata: ["calls": "\(recovered)"]) }
        var iterator = wakeupStream.makeAsyncIterator()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    var started = 0
                    do {
                        started = try await dispatch(into: &group)
                    } catch {
                        logger.error("async queue: cannot read the queue", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .seconds(1))
                    }
                    // Started some: look again at once for more. Started none: sleep until the next
                    // call is due, or until a running call ends or a new one arrives (a wake-up).
                    if started > 0 { continue }
                    let wait = await sleepDuration()
                    // The timer wakes the dispatcher only if it ran out: one cancelled because a
                    // wake-up came first must not send another (that would loop without sleeping).
                    let timer = Task { [wakeups] in
                        guard (try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))) != nil else { return }
                        wakeups.yield()
                    }
                    _ = await iterator.next()
                    timer.cancel()
                }
                await drain()
                group.cancelAll()
            }
        } onGracefulShutdown: { [wakeups] in
            wakeups.yield()
        }
    }

    /// Seconds until the next call is due, at most one. Calls already due that could not start (all
    /// workers busy, or their function at its limit) wait for a wake-up: a call ending sends one.
    private func sleepDuration() async -> Double {
        guard let next = try? await store.nextDue() else { return 1 }
        let delay = next.timeIntervalSinceNow
        return delay <= 0 ? configuration.idleRecheck : min(configuration.idleRecheck, max(0.001, delay))
    }

    /// Waits up to the shutdown grace for running calls; those still running are recovered at restart.
    private func drain() async {
        let deadline = Date().addingTimeInterval(configuration.shutdownGrace)
        while active.withLock({ $0.total }) > 0 && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Starts due calls and deliveries on free workers; returns how many started.
    private func dispatch(into group: inout DiscardingTaskGroup) async throws -> Int {
        let free = configuration.workers - active.withLock { $0.total }
        guard free > 0 else { return 0 }
        let running = active.withLock { $0.perFunction }
        let invoker = invoker
        let limit: @Sendable (String) -> Int = { function in
            (try? FunctionName(address: function)).flatMap { invoker.settings($0) }?.asyncConcurrency ?? 1
        }
        let full = Set(running.filter { $0.value >= limit($0.key) }.keys)
        let now = Date()
        let leaseUntil = now.addingTimeInterval(configuration.lease)
        let calls = try await store.claimDue(now: now, limit: free, node: configuration.node, leaseUntil: leaseUntil, skipping: full, limits: limit)
        for call in calls {
            begin(call)
            group.addTask { await self.execute(call) }
        }
        let stillFree = configuration.workers - active.withLock { $0.total }
        guard stillFree > 0 else { return calls.count }
        let deliveries = try await store.claimDeliveries(now: Date(), limit: stillFree, node: configuration.node, leaseUntil: leaseUntil)
        for call in deliveries {
            begin(call)
            group.addTask { await self.deliver(call) }
        }
        return calls.count + deliveries.count
    }

    private func begin(_ call: AsyncCall) {
        active.withLock { state in
            state.perFunction[call.function.qualified, default: 0] += 1
            state.total += 1
        }
    }

    private func end(_ call: AsyncCall) {
        active.withLock { state in
            state.perFunction[call.function.qualified, default: 1] -= 1
            if state.perFunction[call.function.qualified] == 0 { state.perFunction[call.function.qualified] = nil }
            state.total -= 1
        }
        wakeups.yield()
    }

    /// Extends the call's lease every third of its length until the returned task is cancelled; a
    /// lease taken over by another claim is logged once (the outcome will not be recorded here).
    private func keepLease(_ call: AsyncCall) -> Task<Void, Never> {
        let store = store, lease = configuration.lease, logger = logger
        return Task {
            while (try? await Task.sleep(for: .milliseconds(Int64(lease * 1000 / 3)))) != nil {
                do {
                    if try await store.extendLease(call.id, claim: call.claim, until: Date().addingTimeInterval(lease)) { continue }
                    logger.warning("async call: lease lost to another claim; this run's outcome will not be recorded", metadata: ["call_id": "\(call.id)"])
                    return
                } catch {
                    // The database may be back before the lease runs out; keep trying.
                    logger.notice("async call: cannot extend the lease yet", metadata: ["call_id": "\(call.id)", "error": "\(error)"])
                }
            }
        }
    }

    /// Counts and logs an outcome the store refused because another claim holds the call now.
    private func fenced(_ call: AsyncCall, _ recorded: Bool, what: String) {
        guard !recorded else { return }
        counters.withLock { $0.fenced += 1 }
        logger.warning("async call: outcome not recorded, the call was claimed again elsewhere after this lease ran out", metadata: [
            "call_id": "\(call.id)", "claim": "\(call.claim)", "outcome": "\(what)",
        ])
    }

    /// Runs one attempt and decides: done, retry later, deliver, or dead-letter.
    private func execute(_ call: AsyncCall) async {
        let keeper = keepLease(call)
        defer {
            keeper.cancel()
            end(call)
        }
        let policy = invoker.settings(call.function, callID: call.id)?.retry ?? RetryPolicy()
        let result: AsyncResult
        var retryable = true
        do {
            let answer = try await invoker.invoke(call.function, call.invocation)
            result = AsyncResult(status: answer.status, body: answer.body, contentType: answer.contentType, duration: answer.duration)
        } catch {
            switch error {
            case .functionNotFound:
                retryable = false
                result = AsyncResult(status: 404, body: Array("function '\(call.function)' is not deployed\n".utf8), contentType: "text/plain", duration: 0)
            case .overloaded:
                result = AsyncResult(status: 429, body: Array("\(error)\n".utf8), contentType: "text/plain", duration: 0)
            default:
                result = AsyncResult(status: 500, body: Array("\(error)\n".utf8), contentType: "text/plain", duration: 0)
            }
        }
        let succeeded = (200..<400).contains(result.status)
        let reason = succeeded ? "" : Self.reason(result)
        do {
            if !succeeded && retryable && policy.codes.contains(result.status) && call.attempts < policy.attempts {
                let delay = policy.delay(afterAttempt: call.attempts)
                let recorded = try await store.reschedule(call.id, claim: call.claim, at: Date().addingTimeInterval(delay), status: result.status, error: reason)
                fenced(call, recorded, what: "retry")
                guard recorded else { return }
                counters.withLock { $0.retries += 1 }
                await recordTimerRun(call, status: result.status, error: "will retry: " + reason)
                logger.info("async call failed, will retry", metadata: [
                    "call_id": "\(call.id)", "function": "\(call.function)", "status": "\(result.status)",
                    "attempt": "\(call.attempts)", "retry_in": "\(String(format: "%.3f", delay))s",
                ])
                return
            }
            if call.callbackURL != nil {
                let recorded = try await store.storeResult(call.id, claim: call.claim, result, nextAttemptAt: Date())
                fenced(call, recorded, what: "result")
                guard recorded else { return }
                var delivering = call
                delivering.result = result
                delivering.state = .delivering
                await deliverNow(delivering)
                return
            }
            try await settle(call, result)
        } catch {
            logger.error("async queue: cannot record a call's outcome", metadata: ["call_id": "\(call.id)", "error": "\(error)"])
        }
    }

    /// A delivery claimed from the store (after a restart or a failed try).
    private func deliver(_ call: AsyncCall) async {
        let keeper = keepLease(call)
        defer {
            keeper.cancel()
            end(call)
        }
        await deliverNow(call)
    }

    private func deliverNow(_ call: AsyncCall) async {
        guard let url = call.callbackURL, let result = call.result else { return }
        let outcome = await post(result, of: call, to: url)
        do {
            switch outcome {
            case .success:
                counters.withLock { $0.callbacksDelivered += 1 }
                try await settle(call, result)
            case .failure(let why):
                counters.withLock { $0.callbackFailures += 1 }
                let tries = call.callbackAttempts + 1
                if tries >= configuration.callbackAttempts {
                    let recorded = try await store.deadLetter(call.id, claim: call.claim, status: result.status,
                                                              reason: "the callback to \(url) failed \(tries) times: \(why)")
                    fenced(call, recorded, what: "dead letter")
                    guard recorded else { return }
                    counters.withLock { $0.deadLettered += 1 }
                    logger.warning("async call dead-lettered: callback failed", metadata: ["call_id": "\(call.id)", "url": "\(url)", "error": "\(why)"])
                } else {
                    let delay = min(configuration.callbackMaxWait, configuration.callbackMinWait * pow(2, Double(min(tries - 1, 30))))
                    fenced(call, try await store.rescheduleDelivery(call.id, claim: call.claim, at: Date().addingTimeInterval(delay), error: "callback: \(why)"),
                           what: "callback retry")
                }
            }
        } catch {
            logger.error("async queue: cannot record a delivery", metadata: ["call_id": "\(call.id)", "error": "\(error)"])
        }
    }

    /// The last step: a success is done and forgotten; a failure stays in the dead-letter list.
    private func settle(_ call: AsyncCall, _ result: AsyncResult) async throws(StoreError) {
        if (200..<400).contains(result.status) {
            let recorded = try await store.finish(call.id, claim: call.claim)
            fenced(call, recorded, what: "done")
            if recorded { counters.withLock { $0.completed += 1 } }
            if recorded { await recordTimerRun(call, status: result.status, error: nil) }
        } else {
            let recorded = try await store.deadLetter(call.id, claim: call.claim, status: result.status, reason: Self.reason(result))
            fenced(call, recorded, what: "dead letter")
            guard recorded else { return }
            counters.withLock { $0.deadLettered += 1 }
            await recordTimerRun(call, status: result.status, error: Self.reason(result))
            logger.warning("async call failed for good", metadata: [
                "call_id": "\(call.id)", "function": "\(call.function)", "status": "\(result.status)", "attempts": "\(call.attempts)",
            ])
        }
    }

    /// A timer trigger's run (its call id names the trigger and tick): `stratus triggers` shows its outcome.
    private func recordTimerRun(_ call: AsyncCall, status: Int, error: String?) async {
        guard let (function, tick) = TimerState.parse(callID: call.id) else { return }
        do { try await store.recordTimerRun(function: function, tick: tick, status: status, error: error, at: Date()) } catch {
            logger.notice("timer trigger: cannot record a run's outcome", metadata: ["call_id": "\(call.id)", "error": "\(error)"])
        }
    }

    static func reason(_ result: AsyncResult) -> String {
        let text = String(decoding: result.body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return "status \(result.status)" + (text.isEmpty ? "" : ": \(text)")
    }

    enum Delivery { case success, failure(String) }

    private func post(_ result: AsyncResult, of call: AsyncCall, to url: String) async -> Delivery {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "X-Call-Id", value: call.id)
        request.headers.add(name: "X-Function-Name", value: call.function.qualified)
        request.headers.add(name: "X-Function-Status", value: String(result.status))
        request.headers.add(name: "X-Duration-Seconds", value: sixDecimalSeconds(result.duration))
        request.headers.add(name: "X-Retry-Count", value: String(max(0, call.attempts - 1)))
        request.headers.add(name: "X-Function-Attempts", value: String(call.attempts))
        if let type = result.contentType { request.headers.add(name: "Content-Type", value: type) }
        request.body = .bytes(ByteBuffer(bytes: result.body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.callbackTimeout * 1000)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(Int(response.status.code)) else { return .failure("it answered \(response.status.code)") }
            return .success
        } catch {
            return .failure("\(error)")
        }
    }
}
