import Foundation
import Synchronization

/// Stops guests that run past their deadline by draining their fuel from one watchdog thread.
///
/// WasmKit has no interruption API; fuel is the only way to stop a running guest. The engine meters
/// fuel, each call starts with an effectively unlimited budget, and once the deadline has passed the
/// watchdog sets the budget to zero, so the guest traps at its next fuel check (every loop iteration
/// and call). It keeps doing so every tick until the call ends, because the guest thread may
/// overwrite the zero with its own read-modify-write of the counter. One thread and a table of
/// running calls cost less per call than a timer per call.
final class Watchdog: Sendable {
    private let table = WatchTable()
    /// How often the watchdog looks at running calls; a timeout is late by at most this much.
    static let tick: Duration = .milliseconds(5)

    init() {
        let table = table
        let thread = Thread { table.run() }
        thread.name = "stratus-watchdog"
        thread.start()
    }

    deinit {
        table.stop()
    }

    /// Starts watching a call; pass the result to `finish`.
    func watch(_ instance: WarmInstance, seconds: Double) -> UInt64 {
        table.add(instance, deadline: ContinuousClock.now + .milliseconds(Int64(seconds * 1000)))
    }

    /// Stops watching the call; `true` when its deadline stopped it.
    func finish(_ id: UInt64) -> Bool {
        table.remove(id)
    }
}

/// The running calls the watchdog thread checks.
private final class WatchTable: Sendable {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let instance: WarmInstance
        var fired = false
    }
    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var stopped = false
    }
    private let state = Mutex(State())
    private let wake = NSCondition()

    func stop() {
        state.withLock { $0.stopped = true }
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    func add(_ instance: WarmInstance, deadline: ContinuousClock.Instant) -> UInt64 {
        let (id, wasIdle) = state.withLock { state -> (UInt64, Bool) in
            state.nextID += 1
            let idle = state.entries.isEmpty
            state.entries[state.nextID] = Entry(deadline: deadline, instance: instance)
            return (state.nextID, idle)
        }
        if wasIdle {
            wake.lock()
            wake.signal()
            wake.unlock()
        }
        return id
    }

    func remove(_ id: UInt64) -> Bool {
        state.withLock { $0.entries.removeValue(forKey: id)?.fired ?? false }
    }

    func run() {
        while true {
            let (stopped, idle) = state.withLock { state -> (Bool, Bool) in
                let now = ContinuousClock.now
                for (id, entry) in state.entries where entry.deadline <= now {
                    state.entries[id]?.fired = true
                    entry.instance.interrupt()
                }
                return (state.stopped, state.entries.isEmpty)
            }
            if stopped { return }
            if idle {
                wake.lock()
                _ = wake.wait(until: Date().addingTimeInterval(1))
                wake.unlock()
            } else {
                Thread.sleep(forTimeInterval: Double(Watchdog.tick.components.attoseconds) * 1e-18)
            }
        }
    }
}
