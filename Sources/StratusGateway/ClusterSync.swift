import Foundation
import Logging
import ServiceLifecycle
import StratusInvoker
import StratusModel
import StratusQueue
import StratusStore
import Synchronization

/// Keeps this node in step with the others (a cluster on PostgreSQL), and visible:
///
/// - a notification from another node (`changed`) starts a reconcile at once; the change counter,
///   read every `interval`, starts one when a notification was missed (the node was cut off);
/// - a reconcile reads the store's functions and sites and applies the difference to this node's
///   table through the deploy planner, under the same gate as deploys made through this node;
/// - `queued` wakes the async dispatcher; a heartbeat row tells `/system/nodes` this node lives,
///   and rows silent for a minute are removed.
///
/// Nothing here is on the call path: calls run from the node's own table even while the database is away.
final class ClusterSync: Service, Sendable {
    let store: any StratusStorage
    let invoker: Invoker
    let planner: DeployPlanner
    let gate: SerialGate
    let sites: SiteDirectory
    let queue: AsyncQueue
    let logger: Logger
    let node: NodeRecord
    let interval: Double
    let inflight: InflightLimiter
    let onRemoved: @Sendable (FunctionName) -> Void
    /// Told when a reconcile changed this node's functions (the timer scheduler looks again).
    let onChanged: @Sendable () -> Void
    /// Replicas last applied from the store per function, so a local autoscaler's choice is not undone by every reconcile.
    private let appliedReplicas = Mutex<[FunctionName: Int?]>([:])
    private let lastCounter = Atomic<Int64>(-1)
    /// Where this node is reached; set from the bound port once the server listens (`--port 0`).
    private let address: Mutex<String>

    /// Nodes whose heartbeat is older than this are not listed; after a minute their row goes.
    static let liveWithin: Double = 10
    static let forgetAfter: Double = 60

    init(store: any StratusStorage, invoker: Invoker, planner: DeployPlanner, gate: SerialGate, sites: SiteDirectory, queue: AsyncQueue,
         logger: Logger, node: NodeRecord, interval: Double, inflight: InflightLimiter, onRemoved: @escaping @Sendable (FunctionName) -> Void,
         onChanged: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.invoker = invoker
        self.planner = planner
        self.gate = gate
        self.sites = sites
        self.queue = queue
        self.logger = logger
        self.node = node
        address = Mutex(node.address)
        self.interval = interval
        self.inflight = inflight
        self.onRemoved = onRemoved
        self.onChanged = onChanged
    }

    /// Call after the functions were restored at start-up: the counter they reflect.
    func markRestored() async {
        if let counter = try? await store.changeCounter() { lastCounter.store(counter, ordering: .relaxed) }
        appliedReplicas.withLock { applied in for (name, spec) in invoker.deployedSpecs() { applied[name] = spec.replicas } }
    }

    func run() async throws {
        let (dirty, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let store = store, queue = queue
        guard store.isShared else {
            // The embedded store has no other node to hear from or tell: wait for the stop.
            await withGracefulShutdownHandler {
                for await _ in dirty {}
            } onGracefulShutdown: {
                signal.finish()
            }
            return
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await notification in store.notifications() {
                        if notification == .queued { queue.wake() } else { signal.yield() }
                    }
                }
                group.addTask {
                    for await _ in dirty { await self.reconcile() }
                }
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await self.heartbeat()
                    if let counter = try? await store.changeCounter(), counter != self.lastCounter.load(ordering: .relaxed) { signal.yield() }
                    try? await Task.sleep(for: .milliseconds(Int64(self.interval * 1000)))
                }
                signal.finish()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            signal.finish()
        }
        try? await store.removeNode(node.id)
    }

    /// The live nodes: from the store in a cluster; this one alone on the embedded store.
    func liveNodes() async throws(StoreError) -> [NodeRecord] {
        guard store.isShared else { return [record()] }
        return try await store.nodes(since: Date().addingTimeInterval(-Self.liveWithin))
    }

    /// This node as it reports itself now.
    private func record() -> NodeRecord {
        var record = node
        record.address = address.withLock { $0 }
        record.heartbeatAt = Date()
        record.functions = invoker.deployedSpecs().count
        record.inflight = inflight.current
        return record
    }

    /// The server listens at `address` (its port known only now, with `--port 0`): listed at once.
    func listening(at address: String) {
        self.address.withLock { $0 = address }
        if store.isShared { Task { await heartbeat() } }
    }

    private func heartbeat() async {
        do {
            try await store.heartbeat(record())
            _ = try await store.removeNodes(silentSince: Date().addingTimeInterval(-Self.forgetAfter))
        } catch {
            logger.debug("heartbeat not stored", metadata: ["error": "\(error)"])
        }
    }

    /// Brings this node's functions and sites to what the store holds.
    func reconcile() async {
        do {
            let counter = try await store.changeCounter()
            try await gate.run {
                // Read under the gate: a deploy made through this node meanwhile is in the store already.
                // Functions and their published versions (each deployed under its qualified name).
                let specs = try await self.store.functions() + self.store.allVersions().map(\.spec)
                let aliases = try await self.store.allAliases()
                let deployed = self.invoker.deployedSpecs()
                var wanted = Set<FunctionName>()
                for spec in specs {
                    wanted.insert(spec.name)
                    if let current = deployed[spec.name], Self.sameDeployment(current, spec) {
                        if let replicas = spec.replicas, self.appliedReplicas.withLock({ $0[spec.name] }) != .some(spec.replicas) {
                            _ = try? self.invoker.scale(spec.name, to: replicas)
                            self.appliedReplicas.withLock { $0[spec.name] = spec.replicas }
                            self.logger.info("function scaled through another node", metadata: ["function": "\(spec.name)", "replicas": "\(replicas)"])
                        }
                        continue
                    }
                    do {
                        try await self.invoker.deploy(try await self.planner.plan(spec), waitUntilReady: false)
                        self.appliedReplicas.withLock { $0[spec.name] = spec.replicas }
                        self.logger.info(deployed[spec.name] == nil ? "function deployed through another node" : "function updated through another node",
                                         metadata: ["function": "\(spec.name)"])
                    } catch {
                        self.logger.error("cannot apply a function deployed through another node", metadata: ["function": "\(spec.name)", "error": "\(error)"])
                    }
                }
                let order: (FunctionAlias, FunctionAlias) -> Bool = { ($0.function.qualified, $0.name) < ($1.function.qualified, $1.name) }
                if aliases.sorted(by: order) != self.invoker.routedAliases.sorted(by: order) {
                    self.invoker.setAliases(aliases)
                    self.logger.info("aliases changed through another node", metadata: ["aliases": "\(aliases.count)"])
                }
                // Versions first: undeploying a function takes its versions with it.
                for name in deployed.keys.sorted(by: >) where !wanted.contains(name) {
                    self.invoker.undeploy(name)
                    self.onRemoved(name)
                    self.appliedReplicas.withLock { $0[name] = nil }
                    self.logger.info("function removed through another node", metadata: ["function": "\(name)"])
                }
                try await self.sites.sync(logger: self.logger)
            }
            onChanged()
            lastCounter.store(counter, ordering: .relaxed)
        } catch {
            logger.warning("cannot reconcile with the store yet; this node keeps serving what it has", metadata: ["error": "\(error)"])
        }
    }

    /// Whether two specs deploy the same thing (replicas aside, which scaling changes): compared in
    /// their stored form, so dates count to the second on both sides.
    static func sameDeployment(_ a: FunctionSpec, _ b: FunctionSpec) -> Bool {
        var a = a, b = b
        a.replicas = nil
        b.replicas = nil
        return (try? SpecCoding.encode(a)) == (try? SpecCoding.encode(b))
    }
}
