import Foundation
import Logging
import ServiceLifecycle
import StratusInvoker
import StratusModel
import StratusQueue
import StratusStore
import Synchronization

/// Fires timer triggers (`topic: cron-function`, `schedule`) through the async queue.
///
/// Every node looks at every trigger; a tick is claimed by moving the trigger's last tick in the
/// store from the value read to the new one, in the same transaction that enqueues the tick's call.
/// One node wins each tick, and the call id (function + tick) is the same wherever it is made, so a
/// tick is queued once. A node that dies before its transaction commits claimed nothing: another
/// node claims the tick. One that dies after it left a queued call, which the queue runs (its lease
/// runs out and another node takes it).
///
/// A tick claimed late, within `lateness` (twice the period, from 1 s up to 5 s), still runs (a busy
/// database, a slow loop); older ones were missed while no node ran (the server or the whole cluster
/// was down). Missed ticks are skipped and
/// logged, unless `com.stratus.schedule.catch-up: N` asks for the last N of them to run.
final class TimerScheduler: Service, Sendable {
    let store: any StratusStorage
    let invoker: Invoker
    let queue: AsyncQueue
    let node: String
    let logger: Logger
    /// The longest the loop sleeps while some function has a trigger (a claim another node made is
    /// seen within it); deploys here and reconciles with other nodes wake it at once.
    let recheck: Double
    /// The longest it sleeps while no function has a trigger: an idle server stays idle.
    static let idleRecheck: Double = 30
    /// How late a tick may be claimed and still run as on time.
    static func lateness(_ schedule: CronSchedule) -> Double { min(5, max(1, 2 * (schedule.every ?? 5))) }
    /// On-time ticks claimed at most at once (a 100ms schedule after a 5 s stall).
    static let onTimeLimit = 100
    private let wakeups: AsyncStream<Void>.Continuation
    private let wakeupStream: AsyncStream<Void>

    init(store: any StratusStorage, invoker: Invoker, queue: AsyncQueue, node: String, logger: Logger, recheck: Double = 1) {
        self.store = store
        self.invoker = invoker
        self.queue = queue
        self.node = node
        self.logger = logger
        self.recheck = recheck
        (wakeupStream, wakeups) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A deploy or reconcile changed the functions: look again now.
    func wake() { wakeups.yield() }

    /// The deployed functions with a timer trigger (versions never fire: a trigger belongs to the function).
    func triggers() -> [(name: FunctionName, timer: TimerTrigger, format: EventFormat)] {
        invoker.deployedSpecs().keys.sorted().compactMap { name in
            guard name.qualifier == nil, let settings = invoker.settings(name), let timer = settings.timer else { return nil }
            return (name, timer, settings.eventFormat)
        }
    }

    func run() async throws {
        var iterator = wakeupStream.makeAsyncIterator()
        let wakeups = wakeups
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let wait = await self.step()
                guard wait > 0 else { continue }
                let timer = Task {
                    guard (try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))) != nil else { return }
                    wakeups.yield()
                }
                _ = await iterator.next()
                timer.cancel()
            }
        } onGracefulShutdown: {
            wakeups.yield()
        }
    }

    /// Fires what is due; returns how long to sleep (0: look again at once, a claim was lost).
    func step() async -> Double {
        let triggers = triggers()
        guard !triggers.isEmpty else { return Self.idleRecheck }
        let states: [String: TimerState]
        do {
            states = Dictionary(try await store.timerStates().map { ($0.function, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            logger.warning("timer triggers: cannot read their state; trying again", metadata: ["error": "\(error)"])
            return 1
        }
        var wait = recheck
        var lost = false
        for (name, timer, format) in triggers {
            let now = Date()
            let key = Self.key(timer.schedule)
            let state = states[name.qualified]
            do {
                guard let state, state.schedule == key else {
                    // New (or rescheduled): armed from now, nothing owed for the time before.
                    let won = try await store.advanceTimer(function: name.qualified, expected: state.map { ($0.lastTick, $0.schedule) }, schedule: key,
                                                           lastTick: Self.millis(now), calls: [], node: node)
                    if won {
                        logger.info("timer trigger armed", metadata: [
                            "function": "\(name)", "schedule": "\(timer.schedule.expression)", "timezone": "\(timer.schedule.timeZoneName)",
                            "next": "\(timer.schedule.next(after: now).map(TimerTrigger.timestamp) ?? "never")",
                        ])
                    }
                    // Not armed here: another node armed it first (it fires the ticks), or the function was
                    // just removed. Either way nothing is due from this node before the next look.
                    continue
                }
                let last = Date(timeIntervalSince1970: Double(state.lastTick) / 1000)
                let lateLine = now.addingTimeInterval(-Self.lateness(timer.schedule))
                let missed: (ticks: [Date], count: Int) = last < lateLine
                    ? timer.schedule.ticks(after: last, through: lateLine, keepingLast: max(1, timer.catchUp)) : ([], 0)
                let onTime = timer.schedule.ticks(after: max(last, lateLine), through: now, keepingLast: Self.onTimeLimit)
                if missed.count > 0 || onTime.count > 0 {
                    let replayed = timer.catchUp > 0 ? Array(missed.ticks.suffix(timer.catchUp)) : []
                    let ticks = replayed + onTime.ticks
                    guard let newest = onTime.ticks.last ?? missed.ticks.last else { continue }
                    let calls = ticks.map { timer.call(function: name, tick: $0, format: format, now: now) }
                    let won = try await store.advanceTimer(function: name.qualified, expected: (state.lastTick, state.schedule), schedule: key,
                                                           lastTick: Self.millis(newest), calls: calls, node: node)
                    if won {
                        if !calls.isEmpty { queue.wake() }
                        if missed.count > 0 { logMissed(name, timer: timer, count: missed.count, since: last, replayed: replayed) }
                        if onTime.count > 1 {
                            logger.notice("timer trigger: several ticks were due at once (the loop was late); each runs", metadata: [
                                "function": "\(name)", "ticks": "\(onTime.count)",
                            ])
                        }
                    } else {
                        lost = true
                        continue
                    }
                }
                if let next = timer.schedule.next(after: max(now, onTime.ticks.last ?? last)) {
                    wait = min(wait, max(0.001, next.timeIntervalSinceNow))
                }
            } catch {
                logger.warning("timer trigger: cannot claim a tick; trying again", metadata: ["function": "\(name)", "error": "\(error)"])
                wait = min(wait, 1)
            }
        }
        return lost ? 0 : wait
    }

    private func logMissed(_ name: FunctionName, timer: TimerTrigger, count: Int, since: Date, replayed: [Date]) {
        let metadata: Logger.Metadata = [
            "function": "\(name)", "missed": "\(count)", "since": "\(TimerTrigger.timestamp(since))", "replayed": "\(replayed.count)",
        ]
        if replayed.isEmpty {
            logger.notice("timer trigger: \(count) tick(s) missed while no node ran it were skipped (set \(TimerTrigger.catchUpAnnotation) to replay some)",
                          metadata: metadata)
        } else {
            logger.notice("timer trigger: \(count) tick(s) missed while no node ran it; replaying the last \(replayed.count) (\(TimerTrigger.catchUpAnnotation): \(timer.catchUp))",
                          metadata: metadata)
        }
    }

    /// What the store keeps as the schedule: a changed expression or time zone starts afresh.
    static func key(_ schedule: CronSchedule) -> String { "\(schedule.expression) \(schedule.timeZoneName)" }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// `GET /system/triggers`: every trigger with its next tick and its last run.
    func statuses() async throws(StoreError) -> [TriggerStatus] {
        let states = Dictionary(try await store.timerStates().map { ($0.function, $0) }, uniquingKeysWith: { a, _ in a })
        let now = Date()
        return triggers().map { name, timer, format in
            let state = states[name.qualified].flatMap { $0.schedule == Self.key(timer.schedule) ? $0 : nil }
            let last = state.map { Date(timeIntervalSince1970: Double($0.lastTick) / 1000) }
            return TriggerStatus(
                function: name.rawValue, namespace: name.namespace, schedule: timer.schedule.expression, timezone: timer.schedule.timeZoneName,
                target: timer.target, catchUp: timer.catchUp, eventFormat: format.rawValue,
                nextRun: timer.schedule.next(after: max(now, last ?? now)), lastTick: last, lastFiredBy: state?.lastFiredBy,
                lastRun: state.flatMap { state in
                    state.lastRunTick.map {
                        TriggerStatus.Run(tick: Date(timeIntervalSince1970: Double($0) / 1000), status: state.lastStatus, error: state.lastError,
                                          finishedAt: state.lastRunAt)
                    }
                })
        }
    }
}
