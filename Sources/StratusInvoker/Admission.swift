import Foundation
import Synchronization

/// One function's calls in flight against its limit (`max_inflight` per replica), and the counts
/// the autoscaler reads: calls in flight, calls finished, when a call last came or went.
final class Admission: Sendable {
    private let running = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// Uptime nanoseconds when a call last started or ended (or the function was deployed).
    private let lastActivity = Atomic<Int64>(Admission.uptime())

    var inflight: Int { running.load(ordering: .relaxed) }
    var completed: Int { finished.load(ordering: .relaxed) }

    /// Seconds since a call last started or ended.
    var idleSeconds: Double { Double(Self.uptime() - lastActivity.load(ordering: .relaxed)) / 1e9 }

    /// Counts a call in; with a `limit`, waits up to `wait` seconds for a slot (a short queue before
    /// 429) and returns `false`, counting nothing, when none freed up.
    func enter(limit: Int?, wait: Double) async -> Bool {
        touch()
        guard let limit else {
            running.add(1, ordering: .relaxed)
            return true
        }
        let deadline = ContinuousClock.now + .seconds(wait)
        var pause = 1
        while true {
            if running.add(1, ordering: .relaxed).newValue <= limit { return true }
            running.subtract(1, ordering: .relaxed)
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(pause))
            pause = min(pause * 2, 10)
        }
    }

    /// Counts a call in if a slot is free now; `false`, counting nothing, when it would have to wait.
    func tryEnter(limit: Int?) -> Bool {
        touch()
        if running.add(1, ordering: .relaxed).newValue <= limit ?? Int.max { return true }
        running.subtract(1, ordering: .relaxed)
        return false
    }

    /// A call admitted by `enter` finished.
    func leave() {
        running.subtract(1, ordering: .relaxed)
        finished.add(1, ordering: .relaxed)
        touch()
    }

    /// Marks the function as used now (a call, a scale from zero).
    func touch() { lastActivity.store(Self.uptime(), ordering: .relaxed) }

    private static func uptime() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds) }
}
