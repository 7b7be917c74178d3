import StratusProcess

/// A kind whose replicas are long-lived processes (http mode, custom runtimes): its replica
/// count, scaling, readiness and stop are its replica set's.
protocol ReplicatedKind: DeployedFunction {
    associatedtype Replicas: ReplicatedFunction
    var function: Replicas { get }
}

extension ReplicatedKind {
    var replicas: ReplicaCount { ReplicaCount(desired: function.desiredReplicas, available: function.availableReplicas) }
    var desiredReplicas: Int { function.desiredReplicas }
    var instances: Int { function.availableReplicas }

    func resize(to count: Int) { function.resize(to: count) }

    func waitUntilReady() async throws(InvokerError) {
        do { try await function.waitUntilReady() } catch { throw .invalidProcess(error) }
    }

    func stop() async { await function.stop() }
}
