import Foundation
import Synchronization

/// The replica positions of a long-running function (http mode or a custom runtime) and how its
/// starts went: how many are wanted, which process runs in each, why the last start failed. The
/// function supervises each slot (starting its process again and again until the slot is
/// cancelled); this keeps the bookkeeping both kinds share.
final class ReplicaSlots<Replica: AnyObject & Sendable>: Sendable {
    /// One replica position: its supervisor restarts the process in it until the slot is cancelled.
    final class Slot: Sendable {
        let index: Int
        let cancelled = Atomic<Bool>(false)
        let current = Mutex<Replica?>(nil)
        init(index: Int) { self.index = index }

        var replica: Replica? { current.withLock { $0 } }
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

    private let state = Mutex(State())
    /// The most replicas allowed (`com.openfaas.scale.max`).
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var desired: Int { state.withLock { $0.desired } }
    var isStopped: Bool { state.withLock { $0.stopped } }
    var lastFailure: String? { state.withLock { $0.lastFailure } }

    /// The replicas running now, in slot order.
    var replicas: [Replica] { state.withLock { $0.slots.compactMap(\.replica) } }

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

    /// Sets the wanted count (clamped to 0...limit); returns the slots to start and to retire.
    func resize(to count: Int) -> (added: [Slot], removed: [Slot]) {
        let target = min(max(count, 0), limit)
        return state.withLock { state in
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
    }

    /// Stops for good; returns every slot, to retire.
    func stopAll() -> [Slot] {
        state.withLock { state in
            state.stopped = true
            state.desired = 0
            defer { state.slots = [] }
            return state.slots
        }
    }

    func record(failure: String, countsAsFailedStart: Bool = true) {
        state.withLock { state in
            state.lastFailure = failure
            if countsAsFailedStart { state.failedStarts += 1 }
        }
    }

    /// A replica became ready: earlier failures no longer count.
    func started() {
        state.withLock { state in
            state.failedStarts = 0
            state.lastFailure = nil
        }
    }

    /// Waits until `available()` is above zero; throws with the last failure when every wanted
    /// replica's first start failed, or when even a stuck start should have ended.
    func waitUntilReady(readyTimeout: Double, available: () -> Int, whatFailed: String) async throws(ProcessError) {
        // Each start ends by itself (ready, exited, or killed at its ready timeout); this only bounds a stuck spawn.
        let deadline = ContinuousClock.now + .seconds(readyTimeout * 2 + 10)
        while true {
            if available() > 0 { return }
            let (failed, desired, reason) = state.withLock { ($0.failedStarts, $0.desired, $0.lastFailure) }
            if desired == 0 { return }
            if failed >= desired || ContinuousClock.now > deadline {
                throw .notReady(reason ?? "\(whatFailed) within \(readyTimeout)s")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sleeps `seconds`, waking early when the slot is cancelled.
    static func pause(_ seconds: Double, _ slot: Slot) async {
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end, !slot.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
