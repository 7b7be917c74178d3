import Foundation
import Logging
import StratusModel
import StratusProcess
import StratusWasm
import Testing

@testable import StratusInvoker

/// The invoker's shared parts, driven through fake functions: routing, admission, scaling, swaps, logs.
@Suite struct InvokerTests {
    let log = CollectedLog()
    let invoker: Invoker

    init() {
        let bundles = FileManager.default.temporaryDirectory.appendingPathComponent("invoker-tests-\(UUID().uuidString)")
        let factory = FunctionFactory(wasm: WasmRuntime(threads: 1), processes: ProcessRuntime(bundleDirectory: bundles), inference: nil,
                                      logSink: log, responseLimit: 1024)
        invoker = Invoker(factory: factory, logger: Logger(label: "test"))
    }

    func activate(_ name: String, _ function: FakeFunction, annotations: [String: String] = [:], env: [String: String] = [:],
                  labels: [String: String] = [:], replicas: Int = 1) throws {
        let spec = FunctionSpec(name: try FunctionName(name), image: "fake", artifact: nil, runtime: .process, envProcess: "fake",
                                envVars: env, labels: labels, annotations: annotations)
        function.resize(to: replicas)
        invoker.activate(PreparedFunction(spec: spec, settings: try spec.settings(), function: function, baseline: replicas))
    }

    @Test func callsReachTheActiveVersionAndAReplacedOneIsStopped() async throws {
        let first = FakeFunction(answer: "one"), second = FakeFunction(answer: "two")
        try activate("f", first)
        let name = try FunctionName("f")
        #expect(String(decoding: try await invoker.invoke(name, InvocationRequest()).body, as: UTF8.self) == "one")
        try activate("f", second)
        #expect(String(decoding: try await invoker.invoke(name, InvocationRequest()).body, as: UTF8.self) == "two")
        for _ in 0..<100 where !first.stopped { try await Task.sleep(for: .milliseconds(10)) }
        #expect(first.stopped && !second.stopped)
        invoker.undeploy(name)
        await #expect(throws: InvokerError.self) { try await invoker.invoke(name, InvocationRequest()) }
        #expect(invoker.replicas(name) == ReplicaCount(desired: 0, available: 0))
    }

    @Test func maxInflightAdmitsThatManyCallsPerReplica() async throws {
        let function = FakeFunction()
        try activate("busy", function, annotations: ["com.stratus.queue-wait": "0"], env: ["max_inflight": "1"], replicas: 2)
        let name = try FunctionName("busy")
        function.close()
        let held = (0..<2).map { _ in Task { try await invoker.invoke(name, InvocationRequest()) } }
        for _ in 0..<200 where function.calls < 2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(function.calls == 2, "two replicas take one call each")
        await #expect(throws: InvokerError.self, "a third call is over the limit") { try await invoker.invoke(name, InvocationRequest()) }
        function.open()
        for call in held { #expect(try await call.value.status == 200) }
        #expect(try await invoker.invoke(name, InvocationRequest()).status == 200)
    }

    @Test func scaleSetsTheCountClampedToTheMaximumAndACallWakesAFunctionAtZero() async throws {
        let function = FakeFunction()
        try activate("s", function, labels: ["com.openfaas.scale.max": "3"])
        let name = try FunctionName("s")
        #expect(try invoker.scale(name, to: 9) == 3)
        #expect(function.desired == 3)
        #expect(try invoker.scale(name, to: 0) == 0)
        #expect(invoker.replicas(name).desired == 0)
        #expect(try await invoker.invoke(name, InvocationRequest()).status == 200)
        #expect(function.desired == 1, "the call started one replica")
        #expect(throws: InvokerError.self) { try invoker.scale(try FunctionName("nobody"), to: 1) }
    }

    @Test func aFunctionScaledToZeroWakesToItsMinimum() async throws {
        let function = FakeFunction()
        try activate("m", function, labels: ["com.openfaas.scale.min": "2"], replicas: 2)
        function.resize(to: 0)  // as the autoscaler does after idling
        #expect(try await invoker.invoke(try FunctionName("m"), InvocationRequest()).status == 200)
        #expect(function.desired == 2)
    }

    @Test func everyCallGetsOneSummaryLineUpToTheLimitASecond() async throws {
        let function = FakeFunction()
        try activate("chatty", function)
        let name = try FunctionName("chatty")
        for _ in 0..<(CallLog.linesPerSecond * 3) { _ = try await invoker.invoke(name, InvocationRequest()) }
        let lines = log.all.filter { $0.name == "chatty" }
        #expect(lines.count >= CallLog.linesPerSecond && lines.count < CallLog.linesPerSecond * 3, "\(lines.count)")
        #expect(lines.allSatisfy { $0.text.hasPrefix("POST / - 200 - ContentLength: 4B (") && $0.instance == "fake" })
    }

    @Test func autoscaleTickFollowsLoadAndWritesWhatItDid() async throws {
        let function = FakeFunction()
        try activate("elastic", function, annotations: ["com.openfaas.scale.target": "1", "com.stratus.scale.down-delay": "1ms"])
        let name = try FunctionName("elastic")
        function.close()
        let held = (0..<3).map { _ in Task { try await invoker.invoke(name, InvocationRequest()) } }
        for _ in 0..<200 where function.calls < 3 { try await Task.sleep(for: .milliseconds(5)) }
        for _ in 0..<4 { invoker.autoscaleTick() }
        #expect(function.desired >= 3, "3 calls in flight at a target of 1 each")
        function.open()
        for call in held { _ = try await call.value }
        for _ in 0..<12 {
            invoker.autoscaleTick()
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(function.desired == 1, "back to the baseline")
        #expect(log.all.contains { $0.instance == "autoscaler" && $0.text.hasPrefix("scaled elastic from 1 to ") })
    }
}
