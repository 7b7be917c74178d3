import StratusModel
import Synchronization

/// One routed function: what it is, what runs it, and the per-function parts the invoker shares
/// across kinds (admission, autoscaler, call log).
final class FunctionEntry: Sendable {
    let spec: FunctionSpec
    let settings: FunctionSettings
    let function: any DeployedFunction
    let admission = Admission()
    let scaler: ReplicaScaler
    let log: CallLog

    init(_ prepared: PreparedFunction, log: CallLog) {
        spec = prepared.spec
        settings = prepared.settings
        function = prepared.function
        scaler = ReplicaScaler(settings: prepared.settings, baseline: prepared.baseline)
        self.log = log
    }

    /// Calls allowed at once: `max_inflight` for each replica wanted (one replica's worth while at zero).
    var callLimit: Int? { settings.maxInflight.map { $0 * max(1, function.desiredReplicas) } }

    /// A call found no replica wanted (scaled to zero): start the baseline's worth; the call waits for one.
    func wakeIfScaledToZero() {
        guard function.desiredReplicas == 0 else { return }
        admission.touch()
        function.resize(to: min(scaler.wakeCount, settings.maxReplicas))
    }
}

/// The deployed functions by name. Every call looks here once; deploys swap entries whole.
final class FunctionTable: Sendable {
    private let entries = Mutex<[FunctionName: FunctionEntry]>([:])

    subscript(name: FunctionName) -> FunctionEntry? { entries.withLock { $0[name] } }

    /// Puts `entry` under its name; returns the one it replaced.
    func swap(_ entry: FunctionEntry) -> FunctionEntry? {
        entries.withLock { table in
            defer { table[entry.spec.name] = entry }
            return table[entry.spec.name]
        }
    }

    /// Takes `name` out; returns it and the artifacts the remaining functions still use.
    func remove(_ name: FunctionName) -> (removed: FunctionEntry?, artifactsInUse: Set<Digest>) {
        entries.withLock { table in
            let removed = table.removeValue(forKey: name)
            return (removed, Set(table.values.compactMap(\.spec.artifact)))
        }
    }

    var all: [FunctionEntry] { entries.withLock { Array($0.values) } }
}
