import StratusModel
import Synchronization

/// The autoscaler, written once for every kind of function: follows the load with
/// `ceil(load / (com.openfaas.scale.target × target-proportion))` replicas between the baseline
/// (`com.openfaas.scale.min`, or what scale-function set) and `com.openfaas.scale.max`, adding at
/// once and removing after the load wanted fewer for `com.stratus.scale.down-delay`; to zero after
/// `com.openfaas.scale.zero-duration` without calls when `com.openfaas.scale.zero` is on.
final class ReplicaScaler: Sendable {
    /// What one step sees.
    struct Signal {
        var current: Int
        var inflight: Int
        /// Calls finished since the function was deployed (rps is its rate).
        var completed: Int
        var idleSeconds: Double
        var now: ContinuousClock.Instant
    }

    private struct Memory {
        var baseline: Int
        var smoothed = 0.0
        var belowSince: ContinuousClock.Instant?
        var lastTick: (at: ContinuousClock.Instant, completed: Int)?
    }

    let settings: FunctionSettings
    private let memory: Mutex<Memory>

    init(settings: FunctionSettings, baseline: Int) {
        self.settings = settings
        memory = Mutex(Memory(baseline: baseline))
    }

    /// The count the autoscaler never goes below on its own (except to zero after idling).
    var baseline: Int { memory.withLock { $0.baseline } }

    /// Sets the baseline (scale-function).
    func setBaseline(_ count: Int) { memory.withLock { $0.baseline = count } }

    /// One step (about once a second): the replica count to move to, or `nil` to stay.
    func step(_ signal: Signal) -> Int? {
        let decision = memory.withLock { memory -> Int? in
            let load: Double
            switch settings.scaleType {
            case .capacity, .cpu: load = Double(signal.inflight)
            case .rps:
                let previous = memory.lastTick
                memory.lastTick = (signal.now, signal.completed)
                guard let previous else { return nil }
                let seconds = previous.at.duration(to: signal.now).seconds
                load = seconds > 0 ? Double(signal.completed - previous.completed) / seconds : 0
            }
            memory.smoothed = memory.smoothed * 0.5 + load * 0.5
            guard settings.autoscales, signal.current > 0 else {
                memory.belowSince = nil
                return nil
            }
            let perReplica = Double(settings.scaleTarget) * settings.targetProportion
            let wanted = Int((memory.smoothed / perReplica).rounded(.up))
            if wanted > signal.current {
                memory.belowSince = nil
                return min(wanted, settings.maxReplicas)
            }
            let floor = max(memory.baseline, 1)
            guard signal.current > floor, wanted < signal.current else {
                memory.belowSince = nil
                return nil
            }
            guard let since = memory.belowSince else {
                memory.belowSince = signal.now
                return nil
            }
            guard since.duration(to: signal.now) >= .seconds(settings.scaleDownDelay) else { return nil }
            memory.belowSince = nil
            return max(floor, wanted)
        }
        if settings.scaleToZero, signal.current > 0, signal.inflight == 0, signal.idleSeconds >= settings.zeroDuration { return 0 }
        guard let decision, decision != signal.current else { return nil }
        return decision
    }

    /// Replicas to start when a call finds none: the baseline, at least one.
    var wakeCount: Int { max(1, baseline) }
}
