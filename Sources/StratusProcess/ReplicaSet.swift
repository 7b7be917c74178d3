import Foundation
import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one kind of long-running replica (an http-mode server, a custom-runtime bootstrap) adds to
/// the supervision `ReplicaSet` does for both: how a replica starts, when it is ready, what it holds.
protocol ReplicaDriver: Sendable {
    associatedtype Replica: SupervisedReplica
    /// What a replica runs and where its output goes.
    var command: ReplicaCommand { get }
    /// What the log calls a replica's process ("replica", "bootstrap").
    var noun: String { get }
    /// Starts one replica: its process and whatever it talks through (a port, a runtime API).
    func launch(instance: String) async -> Result<(Replica, ReplicaProcess), SpawnFailure>
    /// Waits until the replica can take calls, or until it cannot: its process exited, the slot was
    /// cancelled (`.gone`), or time ran out (`.stuck`, and the set kills it).
    func waitUntilReady(_ replica: Replica, process: ReplicaProcess, cancelled: @escaping @Sendable () -> Bool) async -> Readiness
    /// Why the replica is gone when its process ended (`how`), before or after it was ready.
    func failure(_ replica: Replica, how: String, wasReady: Bool) -> String
    /// Frees what the replica held besides its process (its port, its runtime API server).
    func release(_ replica: Replica)
}

extension ReplicaDriver {
    /// The function's name: replicas are `NAME-1`, `NAME-2`, …
    var name: String { command.name }
    var settings: FunctionSettings { command.function.settings }
    var log: ReplicaLogSink { command.log }
}

extension ReplicaDriver {
    /// Looks at a starting replica with a growing pause (1 ms doubling to 20 ms) until `look` says how
    /// its start went, or the ready timeout passed (`.stuck` with `timedOut`); it always gets one
    /// look after the deadline, for a busy host whose task was not scheduled in time.
    func pollReadiness(timedOut: String, _ look: () -> Readiness?) async -> Readiness {
        let deadline = ContinuousClock.now + .seconds(settings.readyTimeout)
        var wait = 1
        while true {
            let late = ContinuousClock.now >= deadline
            if let readiness = look() { return readiness }
            if late { return .stuck(timedOut) }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 20)
        }
    }
}

/// The process a replica runs: the function's command, its environment, the sandbox, and where its output lines go.
struct ReplicaCommand: Sendable {
    let function: ProcessFunction
    let name: String
    let environment: [(String, String)]
    let sandbox: Sandbox?
    let log: ReplicaLogSink

    /// Starts the process for `instance` with `variables` added to the function's environment.
    func launch(instance: String, variables: [(String, String)]) async -> Result<ReplicaProcess, SpawnFailure> {
        await ReplicaProcess.launch(function, sandbox: sandbox, environment: environment + variables, instance: instance, log: log)
    }
}

/// How a replica's start went.
enum Readiness: Sendable {
    case ready
    /// Its process exited or its slot was cancelled first.
    case gone
    /// It did not become ready in time; the reason is recorded and the process killed.
    case stuck(String)
}

/// A running replica as its set sees it.
protocol SupervisedReplica: AnyObject, Sendable {
    /// Ready and not retiring: it may take calls.
    var isReady: Bool { get }
    /// Working on a call now.
    var isBusy: Bool { get }
    /// It takes no new calls (it is being retired); calls it has finish.
    func stopTakingCalls()
    /// Its process ended (`how`): the call it was working on fails.
    func ended(_ how: String)
}

/// The replicas of one long-running function: how many are wanted, a supervisor per position that
/// starts the process again (with backoff) until the position is retired, readiness, draining.
/// http mode and custom runtimes share it; what differs is in their `ReplicaDriver`.
final class ReplicaSet<Driver: ReplicaDriver>: Sendable {
    typealias Replica = Driver.Replica

    /// One replica position: its supervisor restarts the process in it until the slot is cancelled.
    final class Slot: Sendable {
        let index: Int
        let cancelled = Atomic<Bool>(false)
        let current = Mutex<(replica: Replica, process: ReplicaProcess)?>(nil)
        init(index: Int) { self.index = index }

        var replica: Replica? { current.withLock { $0?.replica } }
        var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    }

    private struct State {
        var desired = 0
        var slots: [Slot] = []
        var stopped = false
        /// Why the last start failed, for callers who find no replica ready.
        var lastFailure: String?
        /// Starts that failed since a replica was last ready.
        var failedStarts = 0
        /// Where the next tie-break starts.
        var turn = 0
    }

    let driver: Driver
    private let state = Mutex(State())

    init(driver: Driver) { self.driver = driver }

    var desired: Int { state.withLock { $0.desired } }
    var lastFailure: String? { state.withLock { $0.lastFailure } }

    /// The replicas running now, in slot order.
    var replicas: [Replica] { state.withLock { $0.slots.compactMap(\.replica) } }

    /// Replicas ready for calls now.
    var available: Int { replicas.count { $0.isReady } }

    /// The replicas running now, starting one further along each time (so ties go round them),
    /// with whether the function was stopped and how many replicas are wanted.
    func rotated() -> (replicas: [Replica], stopped: Bool, desired: Int) {
        state.withLock { state in
            let all = state.slots.compactMap(\.replica)
            state.turn = (state.turn + 1) % 1_000_000
            let start = all.isEmpty ? 0 : state.turn % all.count
            return (Array(all[start...] + all[..<start]), state.stopped, state.desired)
        }
    }

    /// Starts or stops replicas until `count` are wanted (clamped to 0…the maximum); those taken
    /// away finish their calls first.
    func resize(to count: Int) {
        let target = min(max(count, 0), driver.settings.maxReplicas)
        let (added, removed) = state.withLock { state -> ([Slot], [Slot]) in
            guard !state.stopped else { return ([], []) }
            state.desired = target
            var added: [Slot] = []
            while state.slots.count < target {
                let slot = Slot(index: (state.slots.map(\.index).max() ?? 0) + 1)
                state.slots.append(slot)
                added.append(slot)
            }
            let removed = Array(state.slots.dropFirst(target))
            state.slots.removeLast(state.slots.count - target)
            return (added, removed)
        }
        for slot in removed {
            slot.cancelled.store(true, ordering: .relaxed)
            Task { await retire(slot) }
        }
        for slot in added { Task { await supervise(slot) } }
    }

    /// Stops every replica for good: calls in flight finish first (up to the function's timeout).
    func stop() async {
        let all = state.withLock { state -> [Slot] in
            state.stopped = true
            state.desired = 0
            defer { state.slots = [] }
            return state.slots
        }
        await withTaskGroup(of: Void.self) { group in
            for slot in all { group.addTask { await self.retire(slot) } }
        }
    }

    /// Waits until a replica is ready; throws with the last failure when every wanted replica's
    /// first start failed, or when even a stuck start should have ended.
    func waitUntilReady() async throws(ProcessError) {
        // Each start ends by itself (ready, exited, or killed at its ready timeout); this only bounds a stuck spawn.
        let readyTimeout = driver.settings.readyTimeout
        let deadline = ContinuousClock.now + .seconds(readyTimeout * 2 + 10)
        while true {
            if available > 0 { return }
            let (failed, desired, reason) = state.withLock { ($0.failedStarts, $0.desired, $0.lastFailure) }
            if desired == 0 { return }
            if failed >= desired || ContinuousClock.now > deadline {
                throw .notReady(reason ?? "no \(driver.noun) became ready within \(readyTimeout)s")
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    // MARK: Supervision

    private func supervise(_ slot: Slot) async {
        var backoff = 0.1
        while !slot.isCancelled {
            let instance = "\(driver.name)-\(slot.index)"
            let started = ContinuousClock.now
            let replica: Replica, process: ReplicaProcess
            switch await driver.launch(instance: instance) {
            case .success(let launched): (replica, process) = launched
            case .failure(let failure):
                record(failure: failure.text)
                await pause(backoff, slot)
                backoff = min(backoff * 2, 30)
                continue
            }
            slot.current.withLock { $0 = (replica, process) }
            if slot.isCancelled { process.signal(SIGKILL) }
            let readiness = await driver.waitUntilReady(replica, process: process, cancelled: { slot.isCancelled })
            switch readiness {
            case .ready: markStarted()
            case .stuck(let why):
                record(failure: why)
                process.signal(SIGKILL)
            case .gone: break
            }
            let how = Self.describe(await process.exitStatus())
            replica.ended(how)
            slot.current.withLock { $0 = nil }
            driver.release(replica)
            if slot.isCancelled { break }
            switch readiness {
            case .ready: record(failure: driver.failure(replica, how: how, wasReady: true), countsAsFailedStart: false)
            case .gone: record(failure: driver.failure(replica, how: how, wasReady: false))
            case .stuck: break
            }
            // A replica that ran a while starts over with a short pause; one that keeps failing waits longer each time.
            if started.duration(to: .now) > .seconds(30) { backoff = 0.1 }
            driver.log(instance, ["\(driver.noun) \(how); restarting in \(String(format: "%.1f", backoff))s"])
            await pause(backoff, slot)
            backoff = min(backoff * 2, 30)
        }
    }

    /// Records why a start failed (for callers who find no replica ready, and the deploy).
    func record(failure: String, countsAsFailedStart: Bool = true) {
        state.withLock { state in
            state.lastFailure = failure
            if countsAsFailedStart { state.failedStarts += 1 }
        }
    }

    /// A replica became ready: earlier failures no longer count.
    private func markStarted() {
        state.withLock { state in
            state.failedStarts = 0
            state.lastFailure = nil
        }
    }

    /// Sleeps `seconds`, waking early when the slot is cancelled.
    private func pause(_ seconds: Double, _ slot: Slot) async {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end, !slot.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Ends a slot's replica: no new calls, the ones it has finish (up to the timeout), then SIGTERM,
    /// and SIGKILL after a grace period; returns once its supervisor let go of it.
    private func retire(_ slot: Slot) async {
        slot.cancelled.store(true, ordering: .relaxed)
        guard let (replica, process) = slot.current.withLock({ $0 }) else { return }
        replica.stopTakingCalls()
        let drain = ContinuousClock.now + .seconds(driver.settings.timeout)
        while replica.isBusy, !process.hasExited, ContinuousClock.now < drain {
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.signal(SIGTERM)
        let grace = ContinuousClock.now + .seconds(2)
        while !process.hasExited, ContinuousClock.now < grace {
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.signal(SIGKILL)
        _ = await process.exitStatus()
        while slot.current.withLock({ $0 != nil }) { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// How a process ended, for the log.
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal != 0 { return "was killed by signal \(signal)" }
        return "exited with status \((status >> 8) & 0xff)"
    }
}

/// A process function that runs as long-lived replicas (http mode, custom runtimes).
public protocol ReplicatedFunction: Sendable {
    /// Replicas asked for.
    var desiredReplicas: Int { get }
    /// Replicas ready for calls now.
    var availableReplicas: Int { get }
    /// Starts or stops replicas until `count` run (clamped to the function's maximum).
    func resize(to count: Int)
    /// Waits until a replica is ready; throws why none could start.
    func waitUntilReady() async throws(ProcessError)
    /// Stops every replica: calls in flight finish first.
    func stop() async
}

extension HTTPFunction: ReplicatedFunction {}
extension BootstrapFunction: ReplicatedFunction {}
extension ClassicFunction: ReplicatedFunction {}
