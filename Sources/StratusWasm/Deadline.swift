import Foundation
import Synchronization

/// Stops a guest that runs past its deadline by draining its fuel from a timer thread.
///
/// WasmKit has no interruption API; fuel is the only way to stop a running guest. The engine meters
/// fuel, each call starts with an effectively unlimited budget, and at the deadline this timer sets
/// the budget to zero, so the guest traps at its next fuel check (every loop iteration and call).
final class Deadline: Sendable {
    private struct State {
        var finished = false
        var fired = false
    }
    private let state = Mutex(State())
    private let instance: WarmInstance

    init(instance: WarmInstance, seconds: Double) {
        self.instance = instance
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in fire() }
    }

    /// Whether the deadline stopped the call.
    var fired: Bool { state.withLock { $0.fired } }

    /// Marks the call finished; from here on the timer leaves the instance alone.
    func finish() {
        state.withLock { $0.finished = true }
    }

    private func fire() {
        // The guest thread may overwrite the zero with its own read-modify-write of the fuel
        // counter, so keep draining until it has stopped.
        for _ in 0..<10_000 {
            let running = state.withLock { state -> Bool in
                guard !state.finished else { return false }
                state.fired = true
                instance.interrupt()
                return true
            }
            guard running else { return }
            usleep(1000)
        }
    }
}
