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

    /// Takes `name` out (a function takes its published versions with it); returns what was taken and
    /// the artifacts the remaining functions still use.
    func remove(_ name: FunctionName) -> (removed: [FunctionEntry], artifactsInUse: Set<Digest>) {
        entries.withLock { table in
            var removed: [FunctionEntry] = []
            if let entry = table.removeValue(forKey: name) { removed.append(entry) }
            if name.qualifier == nil {
                for key in table.keys where key.qualifier != nil && key.base == name { removed.append(table.removeValue(forKey: key)!) }
            }
            return (removed, Set(table.values.compactMap(\.spec.artifact)))
        }
    }

    var all: [FunctionEntry] { entries.withLock { Array($0.values) } }
}

/// The aliases calls can name (`name:prod`), each with the version a call lands on for each of the
/// 100 points its call id can hash to, worked out once per change.
final class AliasTable: Sendable {
    final class Entry: Sendable {
        let alias: FunctionAlias
        /// The version name for each point 0..<100.
        let slots: [FunctionName]

        init?(_ alias: FunctionAlias) {
            let slots = alias.slots.compactMap { try? FunctionName(alias.function, qualifier: String($0)) }
            guard slots.count == 100 else { return nil }
            self.alias = alias
            self.slots = slots
        }
    }

    private let entries = Mutex<[FunctionName: Entry]>([:])

    /// Replaces every alias with `aliases`.
    func replace(_ aliases: [FunctionAlias]) {
        var table: [FunctionName: Entry] = [:]
        for alias in aliases { table[alias.address] = Entry(alias) }
        entries.withLock { $0 = table }
    }

    /// The version `name` (an alias address) sends the call with `callID` to; `nil` for an unknown alias.
    func target(_ name: FunctionName, callID: String) -> FunctionName? {
        guard let entry = entries.withLock({ $0[name] }) else { return nil }
        return entry.slots[FunctionAlias.point(callID)]
    }

    var all: [FunctionAlias] { entries.withLock { $0.values.map(\.alias) } }
}
