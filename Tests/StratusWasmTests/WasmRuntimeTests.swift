import Foundation
import StratusModel
import StratusTestSupport
import Testing
@testable import StratusWasm

/// Runs real C guests (compiled from Tests/Fixtures/wasm) through the runtime, on both engines.
@Suite(.serialized) struct WasmRuntimeTests {
    let runtime = WasmRuntime(threads: 2)

    /// Settings that pick `engine`.
    static func settings(_ engine: WasmEngineKind, timeout: Double = 30, memory: Int = 128 * 1024 * 1024) -> FunctionSettings {
        var settings = FunctionSettings(timeout: timeout, memoryLimit: memory)
        settings.wasmEngine = engine
        return settings
    }

    func load(_ name: String, engine: WasmEngineKind, timeout: Double = 30, memory: Int = 128 * 1024 * 1024) async throws -> WasmFunction {
        let bytes = try WasmFixtures.bytes(name)
        let digest = Digest(hashBytes: Array((name + String(repeating: "-", count: 32)).utf8.prefix(32)))
        let module = try runtime.prepare(digest: digest, bytes: bytes)
        let function = try await runtime.load(module, settings: Self.settings(engine, timeout: timeout, memory: memory))
        #expect(function.engine == engine)
        return function
    }

    @Test func bothEnginesAreHere() {
        #expect(runtime.defaultEngine == .wasmtime, "the setup step fetches Wasmtime's library: \(runtime.wasmtimeUnavailable ?? "")")
    }

    func call(_ function: WasmFunction, _ body: String = "", env: [(String, String)] = []) async -> GuestResult {
        await runtime.run(function, request: GuestRequest(stdin: Array(body.utf8), environment: env, arguments: ["test"]))
    }

    @Test(arguments: WasmEngineKind.allCases) func echoesStdinToStdout(engine: WasmEngineKind) async throws {
        let echo = try await load("echo", engine: engine)
        let result = await call(echo, "Hello, Wasm")
        #expect(result.outcome == .exited(0))
        #expect(String(decoding: result.stdout, as: UTF8.self) == "Hello, Wasm")
    }

    @Test(arguments: WasmEngineKind.allCases) func echoesLargeBodies(engine: WasmEngineKind) async throws {
        let echo = try await load("echo", engine: engine)
        let body = String(repeating: "0123456789abcdef", count: 64 * 1024)
        let result = await call(echo, body)
        #expect(result.stdout.count == body.utf8.count)
    }

    @Test(arguments: WasmEngineKind.allCases) func passesEnvironmentVariables(engine: WasmEngineKind) async throws {
        let env = try await load("env", engine: engine)
        let request = InvocationRequest(method: "PUT", path: "/a/b", query: "x=1", headers: [("Content-Type", "text/plain"), ("x-test", "yes")])
        let result = await call(env, env: request.watchdogEnvironment + [("MY_VAR", "mine")])
        let text = String(decoding: result.stdout, as: UTF8.self)
        #expect(text.contains("Http_Method=PUT"))
        #expect(text.contains("Http_Path=/a/b"))
        #expect(text.contains("Http_Query=x=1"))
        #expect(text.contains("Http_Content_Type=text/plain"))
        #expect(text.contains("Http_X_Test=yes"))
        #expect(text.contains("MY_VAR=mine"))
    }

    @Test(arguments: WasmEngineKind.allCases) func warmInstancesLeakNoStateBetweenCalls(engine: WasmEngineKind) async throws {
        let counter = try await load("counter", engine: engine)
        var outputs: [String] = []
        var coldStarts = 0
        for _ in 0..<5 {
            let result = await call(counter)
            outputs.append(String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            if result.coldStart { coldStarts += 1 }
        }
        #expect(outputs == Array(repeating: "1", count: 5))
        #expect(coldStarts == 0, "load() prewarms an instance and each call returns it to the pool")
    }

    @Test(arguments: WasmEngineKind.allCases) func reportsNonZeroExitAndCapturesStderr(engine: WasmEngineKind) async throws {
        let failing = try await load("exit3", engine: engine)
        let result = await call(failing)
        #expect(result.outcome == .exited(3))
        #expect(String(decoding: result.stderr, as: UTF8.self).contains("failing"))
    }

    @Test(arguments: WasmEngineKind.allCases) func trapIsReportedAndTheNextCallWorks(engine: WasmEngineKind) async throws {
        let trap = try await load("trap", engine: engine)
        let first = await call(trap)
        guard case .trapped(let reason) = first.outcome else {
            Issue.record("expected a trap, got \(first.outcome)")
            return
        }
        #expect(reason.contains("unreachable"))
        let second = await call(trap)
        guard case .trapped = second.outcome else {
            Issue.record("a fresh instance should trap again, got \(second.outcome)")
            return
        }
    }

    @Test(arguments: WasmEngineKind.allCases) func infiniteLoopTimesOutAndTheRuntimeStaysUsable(engine: WasmEngineKind) async throws {
        let loop = try await load("loop", engine: engine, timeout: 0.3)
        let echo = try await load("echo", engine: engine)
        let result = await call(loop)
        #expect(result.outcome == .timedOut)
        let after = await call(echo, "still alive")
        #expect(String(decoding: after.stdout, as: UTF8.self) == "still alive")
        #expect(await call(loop).outcome == .timedOut)
    }

    @Test(arguments: WasmEngineKind.allCases) func shortCallsRunInlineAndLongOnesMoveToGuestThreads(engine: WasmEngineKind) async throws {
        let echo = try await load("echo", engine: engine)
        for _ in 0..<3 { _ = await call(echo, "x") }
        #expect(echo.runsInline, "a short function keeps the inline path")
        let loop = try await load("loop", engine: engine, timeout: 0.3)
        #expect(await call(loop).outcome == .timedOut, "the inline budget runs out, the guest thread's deadline answers")
        #expect(!loop.runsInline, "a function that outran the inline budget stays on guest threads")
        #expect(await call(loop).outcome == .timedOut)
    }

    /// Wasmtime's rule measures wall time, so a call the OS preempted can send a short function to the
    /// guest threads: a later probe that runs within the budget brings it back inline.
    @Test func aShortWasmtimeFunctionSentToGuestThreadsComesBackInline() async throws {
        let echo = try await load("echo", engine: .wasmtime)
        let backend = try #require(echo.backend as? WasmtimeFunction)
        backend.demote()
        #expect(!echo.runsInline)
        for _ in 0..<(WasmtimeFunction.probeEvery - 1) { _ = await call(echo, "x") }
        #expect(!echo.runsInline, "no probe before \(WasmtimeFunction.probeEvery) calls")
        #expect(String(decoding: await call(echo, "y").stdout, as: UTF8.self) == "y", "the probe's answer is the call's")
        // A probe the machine itself slowed past a millisecond (a loaded test run) waits for the next one.
        for _ in 0..<(8 * WasmtimeFunction.probeEvery) where !echo.runsInline { _ = await call(echo, "z") }
        #expect(echo.runsInline, "a probe that ran within the budget turned inline runs back on")
    }

    @Test(arguments: WasmEngineKind.allCases) func unboundedRecursionTrapsWithoutHurtingTheHost(engine: WasmEngineKind) async throws {
        let recurse = try await load("recurse", engine: engine)
        let result = await call(recurse)
        guard case .trapped(let reason) = result.outcome else {
            Issue.record("expected a trap, got \(result.outcome)")
            return
        }
        #expect(reason.contains("stack") || reason.contains("memory"), "\(reason)")
        let echo = try await load("echo", engine: engine)
        #expect(String(decoding: await call(echo, "alive").stdout, as: UTF8.self) == "alive")
    }

    @Test(arguments: WasmEngineKind.allCases) func secretsAreAReadOnlyPreopenedDirectory(engine: WasmEngineKind) async throws {
        let bytes = try WasmFixtures.bytes("readfile")
        let module = try runtime.prepare(digest: Digest(hashBytes: Array("readfile-fixture-digest-00000000".utf8)), bytes: bytes)
        let function = try await runtime.load(module, settings: Self.settings(engine), secrets: ["api-key": Array("open-sesame".utf8)])
        let secrets = "/var/openfaas/secrets/"
        #expect(String(decoding: await call(function, secrets + "api-key").stdout, as: UTF8.self) == "open-sesame", "readable, and not writable")
        let missing = String(decoding: await call(function, secrets + "nope").stdout, as: UTF8.self)
        #expect(missing.hasPrefix("cannot open /var/openfaas/secrets/nope"))
        let escape = String(decoding: await call(function, secrets + "../../etc/passwd").stdout, as: UTF8.self)
        #expect(escape.hasPrefix("cannot open"), "\(escape)")
        let without = try await runtime.load(module, settings: Self.settings(engine))
        #expect(String(decoding: await call(without, secrets + "api-key").stdout, as: UTF8.self).hasPrefix("cannot open"), "no secrets, no directory")
    }

    @Test(arguments: WasmEngineKind.allCases) func memoryCapMakesLargeAllocationsFail(engine: WasmEngineKind) async throws {
        let capped = try await load("grow", engine: engine, memory: 16 * 1024 * 1024)
        let result = await call(capped)
        #expect(result.outcome == .exited(1))
        #expect(String(decoding: result.stdout, as: UTF8.self).contains("malloc failed"))
        let roomy = try await load("grow", engine: engine, memory: 128 * 1024 * 1024)
        let ok = await call(roomy)
        #expect(ok.outcome == .exited(0))
        #expect(String(decoding: ok.stdout, as: UTF8.self).contains("allocated"))
    }

    @Test(arguments: WasmEngineKind.allCases) func outputOverTheLimitFailsTheWrite(engine: WasmEngineKind) async throws {
        let echo = try await load("echo", engine: engine)
        let result = await runtime.run(echo, request: GuestRequest(stdin: Array(repeating: 65, count: 4096), environment: [], arguments: [], outputLimit: 1024))
        #expect(result.stdout.count <= 1024)
    }

    @Test(arguments: WasmEngineKind.allCases) func concurrentCallsGetTheirOwnAnswers(engine: WasmEngineKind) async throws {
        let echo = try await load("echo", engine: engine)
        let answers = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let result = await call(echo, "request \(index)")
                    return String(decoding: result.stdout, as: UTF8.self) == "request \(index)"
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0 })
        #expect(answers.count == 40)
    }
}
