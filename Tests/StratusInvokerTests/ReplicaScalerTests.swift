import StratusModel
import Testing

@testable import StratusInvoker

/// The autoscaler's step, alone: what it decides for a given load, count and time.
@Suite struct ReplicaScalerTests {
    func scaler(_ labels: [String: String], baseline: Int = 1) throws -> ReplicaScaler {
        let spec = FunctionSpec(name: try FunctionName("f"), image: "i", artifact: nil, runtime: .process, labels: labels)
        return ReplicaScaler(settings: try spec.settings(), baseline: baseline)
    }

    func signal(current: Int, inflight: Int, completed: Int = 0, idle: Double = 0, at seconds: Int = 0) -> ReplicaScaler.Signal {
        ReplicaScaler.Signal(current: current, inflight: inflight, completed: completed, idleSeconds: idle,
                             now: Self.start + .seconds(seconds))
    }

    static let start = ContinuousClock.now

    @Test func capacityAddsReplicasAtOnceUpToTheMaximum() throws {
        let scaler = try scaler(["com.openfaas.scale.target": "2", "com.openfaas.scale.max": "4"])
        #expect(scaler.step(signal(current: 1, inflight: 1)) == nil, "smoothed 0.5 of 1.8 per replica")
        #expect(scaler.step(signal(current: 1, inflight: 8)) == 3, "smoothed 4.25 / 1.8 → 3")
        #expect(scaler.step(signal(current: 3, inflight: 40)) == 4, "clamped to the maximum")
    }

    @Test func removesReplicasOnlyAfterTheDownDelayAndNotBelowTheBaseline() throws {
        let scaler = try scaler(["com.openfaas.scale.target": "1", "com.stratus.scale.down-delay": "10s"], baseline: 2)
        #expect(scaler.step(signal(current: 5, inflight: 0, at: 0)) == nil, "the delay starts")
        #expect(scaler.step(signal(current: 5, inflight: 0, at: 5)) == nil)
        #expect(scaler.step(signal(current: 5, inflight: 0, at: 11)) == 2, "down to the baseline")
    }

    @Test func minEqualToMaxDisablesLoadScaling() throws {
        let scaler = try scaler(["com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1", "com.openfaas.scale.target": "1"])
        for second in 0..<5 { #expect(scaler.step(signal(current: 1, inflight: 50, at: second)) == nil) }
    }

    @Test func goesToZeroAfterTheZeroDurationWithoutCalls() throws {
        let scaler = try scaler(["com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "30s"])
        #expect(scaler.step(signal(current: 1, inflight: 0, idle: 29)) == nil)
        #expect(scaler.step(signal(current: 1, inflight: 1, idle: 31)) == nil, "not with a call in flight")
        #expect(scaler.step(signal(current: 1, inflight: 0, idle: 31)) == 0)
        let off = try self.scaler(["com.openfaas.scale.zero-duration": "1s"])
        #expect(off.step(signal(current: 1, inflight: 0, idle: 99)) == nil, "zero is off by default")
    }

    @Test func rpsFollowsCallsASecond() throws {
        let scaler = try scaler(["com.openfaas.scale.type": "rps", "com.openfaas.scale.target": "10", "com.openfaas.scale.max": "10"])
        #expect(scaler.step(signal(current: 1, inflight: 0, completed: 0, at: 0)) == nil, "the first step only takes the count")
        #expect(scaler.step(signal(current: 1, inflight: 0, completed: 100, at: 1)) == 6, "100/s smoothed to 50, 9 per replica → 6")
    }

    @Test func annotationsWinOverLabels() throws {
        let spec = FunctionSpec(name: try FunctionName("f"), image: "i", artifact: nil, runtime: .process,
                                labels: ["com.openfaas.scale.min": "2", "com.openfaas.scale.max": "3"],
                                annotations: ["com.openfaas.scale.max": "5"])
        let settings = try spec.settings()
        #expect(settings.minReplicas == 2 && settings.maxReplicas == 5)
        let bad = FunctionSpec(name: try FunctionName("f"), image: "i", artifact: nil, labels: ["com.openfaas.scale.type": "memory"])
        #expect(throws: ModelError.self) { try bad.settings() }
        let proportion = FunctionSpec(name: try FunctionName("f"), image: "i", artifact: nil, labels: ["com.openfaas.scale.target-proportion": "1.5"])
        #expect(throws: ModelError.self) { try proportion.settings() }
    }
}
