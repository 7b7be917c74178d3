import Foundation
import StratusTestSupport
import Testing

/// A callback receiver (Tests/Support/callback_receiver.py) recording every POST it gets.
final class CallbackReceiver {
    let process = Process()
    let record: URL
    let port: Int

    init(_ arguments: [String] = []) throws {
        record = FileManager.default.temporaryDirectory.appendingPathComponent("callbacks-\(UUID().uuidString).jsonl")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Support/callback_receiver.py").path, record.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    var url: String { "http://127.0.0.1:\(port)/done" }

    /// Every callback so far: headers (X-…), body, the status it was answered.
    var calls: [[String: Any]] {
        let text = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func header(_ call: [String: Any], _ name: String) -> String? {
        (call["headers"] as? [String: String])?.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    func stop() {
        // SIGKILL: a test runner may block SIGTERM, and children inherit the mask.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: record)
    }
}

/// Async invocations through the real server: stored before 202, retried, called back, dead-lettered,
/// and never lost — not even to `kill -9`.
@Suite(.serialized) struct AsyncQueueTests {
    func cli(_ server: ServerProcess, _ arguments: [String]) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    func deploy(_ server: ServerProcess, fixture: String, as name: String, annotations: [String] = []) throws {
        let result = try cli(server, ["deploy", "--name", name, "--wasm", try WasmFixtures.path(fixture).path]
                                 + annotations.flatMap { ["--annotation", $0] })
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// curl: the status and the X-Call-Id it answered.
    func post(_ url: String, _ body: String, headers: [String] = [], method: String = "POST") throws -> (status: Int, callID: String?, body: String) {
        let answer = try Curl.request(url, method: method, body: body, headers: headers)
        let callID = answer.head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("x-call-id:") }
            .map { String($0.dropFirst(10)).trimmingCharacters(in: .whitespaces) }
        return (answer.status, callID, answer.body)
    }

    func queue(_ server: ServerProcess, state: String? = nil) throws -> [String: Any] {
        let result = try cli(server, ["queue", "list", "--json", "--limit", "10000"] + (state.map { ["--state", $0] } ?? []))
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    /// Polls `condition` every 50 ms for up to `seconds` (a deadline against hangs, not a speed check).
    func waitUntil(_ seconds: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test func callsAreAcceptedOnlyForDeployedFunctionsAndCallBack() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let receiver = try CallbackReceiver()
        defer { receiver.stop() }
        try deploy(server, fixture: "env", as: "env")

        let accepted = try post("\(server.url)/async-function/env/items/7?lang=en", "hi",
                                headers: ["X-Callback-Url: \(receiver.url)", "X-Test: yes", "Content-Type: text/plain"])
        #expect(accepted.status == 202)
        let id = try #require(accepted.callID)
        #expect(waitUntil { receiver.calls.count == 1 })
        let callback = try #require(receiver.calls.first)
        #expect(receiver.header(callback, "X-Call-Id") == id)
        #expect(receiver.header(callback, "X-Function-Name") == "env")
        #expect(receiver.header(callback, "X-Function-Status") == "200")
        #expect(receiver.header(callback, "X-Retry-Count") == "0")
        #expect(Double(receiver.header(callback, "X-Duration-Seconds") ?? "") != nil)
        let body = callback["body"] as? String ?? ""
        for line in ["Http_Path=/items/7", "Http_Query=lang=en", "Http_X_Test=yes", "Http_Method=POST"] {
            #expect(body.contains(line), "\(line) in \(body)")
        }

        #expect(try post("\(server.url)/async-function/missing", "x").status == 404, "not 202 for a function that does not exist")
        #expect(try post("\(server.url)/async-function/env", "x", headers: ["X-Callback-Url: ftp://example.com/x"]).status == 400)
        #expect(try post("\(server.url)/async-function/env", "x", headers: ["X-Call-Id: ../../etc"]).status == 400)
        let mine = try post("\(server.url)/async-function/env.openfaas-fn", "x", headers: ["X-Call-Id: my-call-1"])
        #expect(mine.status == 202 && mine.callID == "my-call-1")
        // Done calls leave the queue.
        #expect(waitUntil { ((try? queue(server))?["pending"] as? Int) == 0 && ((try? queue(server))?["running"] as? Int) == 0 })
    }

    @Test func aFunctionThatAlwaysFailsEndsInTheDeadLetterListAfterItsAttempts() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, fixture: "exit3", as: "failing", annotations: [
            "com.openfaas.retry.attempts=3", "com.openfaas.retry.min_wait=100ms", "com.openfaas.retry.max_wait=150ms",
        ])
        let started = Date()
        let id = try #require(try post("\(server.url)/async-function/failing", "x").callID)
        #expect(waitUntil { (try? queue(server, state: "failed"))?["failed"] as? Int == 1 })
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.25, "two waits between three attempts (100 ms, then 150 ms capped): \(elapsed)")
        let failed = try #require((try queue(server, state: "failed"))["calls"] as? [[String: Any]])
        #expect(failed.first?["id"] as? String == id)
        #expect(failed.first?["attempts"] as? Int == 3)
        #expect(failed.first?["lastStatus"] as? Int == 500)
        #expect((failed.first?["lastError"] as? String)?.contains("exited with code 3") == true, "\(failed)")
        let logs = try cli(server, ["logs", "failing"])
        #expect(logs.stdout.components(separatedBy: "failing").count - 1 >= 3, "three runs logged: \(logs.stdout)")

        // The CLI shows it, runs it again from the first attempt, and removes it.
        #expect(try cli(server, ["queue", "list"]).stdout.contains(id))
        #expect(try cli(server, ["queue", "retry", id]).status == 0)
        #expect(waitUntil { ((try? queue(server, state: "failed"))?["calls"] as? [[String: Any]])?.first?["attempts"] as? Int == 3
                             && ((try? queue(server))?["pending"] as? Int) == 0 && ((try? queue(server))?["running"] as? Int) == 0 })
        #expect(try cli(server, ["queue", "retry", "no-such-call"]).status != 0)
        #expect(try post("\(server.url)/async-function/\(id)", "", method: "DELETE").status == 204)
        #expect(try post("\(server.url)/async-function/\(id)", "", method: "DELETE").status == 404)
        #expect((try queue(server))["failed"] as? Int == 0)
    }

    @Test func callbacksThatFailAreRetriedWithoutRunningTheFunctionAgain() throws {
        let server = try ServerProcess(arguments: ["--callback-retry-wait", "20ms", "--callback-timeout", "300ms"])
        defer { server.destroy() }
        try deploy(server, fixture: "echo", as: "echo")

        // Answers 500 twice, then 200: three deliveries of the same result, one run.
        let flaky = try CallbackReceiver(["--fail-first", "2"])
        defer { flaky.stop() }
        let id = try #require(try post("\(server.url)/async-function/echo", "payload", headers: ["X-Callback-Url: \(flaky.url)"]).callID)
        #expect(waitUntil { flaky.calls.count == 3 })
        #expect(flaky.calls.allSatisfy { flaky.header($0, "X-Call-Id") == id && $0["body"] as? String == "payload" })
        let describe = try cli(server, ["describe", "echo", "--json"])
        #expect(describe.stdout.contains(#""invocationCount" : 1"#), "the function ran once: \(describe.stdout)")

        // Unreachable and too slow: retried, then dead-lettered with the reason; the server keeps serving.
        let slow = try CallbackReceiver(["--delay", "1"])
        defer { slow.stop() }
        let unreachable = try #require(try post("\(server.url)/async-function/echo", "a", headers: ["X-Callback-Url: http://127.0.0.1:9/nothing"]).callID)
        let tooSlow = try #require(try post("\(server.url)/async-function/echo", "b", headers: ["X-Callback-Url: \(slow.url)"]).callID)
        #expect(waitUntil(120) { (try? queue(server, state: "failed"))?["failed"] as? Int == 2 })
        let failed = try #require((try queue(server, state: "failed"))["calls"] as? [[String: Any]])
        for call in failed {
            #expect([unreachable, tooSlow].contains(call["id"] as? String ?? ""))
            #expect(call["callbackAttempts"] as? Int == 9, "10 tries: \(call)")
            #expect((call["lastError"] as? String)?.contains("callback") == true, "\(call)")
        }
        #expect(slow.calls.count >= 2, "the slow receiver was tried more than once")
        #expect(try post("\(server.url)/function/echo", "still serving").body == "still serving")
    }

    @Test func killNineLosesNoAcceptedCall() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-kill9-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = try CallbackReceiver()
        defer { receiver.stop() }
        var ids: Set<String> = []
        do {
            let first = try ServerProcess(dataDirectory: directory, arguments: ["--queue-workers", "4"])
            try deploy(first, fixture: "slow", as: "slow")
            try deploy(first, fixture: "echo", as: "echo")
            for index in 0..<6 {
                ids.insert(try #require(try post("\(first.url)/async-function/slow", "s\(index)", headers: ["X-Callback-Url: \(receiver.url)"]).callID))
            }
            for index in 0..<30 {
                ids.insert(try #require(try post("\(first.url)/async-function/echo", "e\(index)", headers: ["X-Callback-Url: \(receiver.url)"]).callID))
            }
            // Some slow calls are running (2 s each, 4 workers) when the server dies.
            #expect(waitUntil { ((try? queue(first))?["running"] as? Int ?? 0) > 0 })
            first.killHard()
        }
        let before = Set(receiver.calls.compactMap { receiver.header($0, "X-Call-Id") })
        #expect(before.count < ids.count, "calls were still queued or running at the kill")

        let second = try ServerProcess(dataDirectory: directory)
        defer { second.stop() }
        #expect(waitUntil(120) { Set(receiver.calls.compactMap { receiver.header($0, "X-Call-Id") }) == ids })
        #expect(second.output.contains("run again"), "the interrupted calls are reported")
        let summary = try queue(second)
        #expect(summary["pending"] as? Int == 0 && summary["running"] as? Int == 0 && summary["failed"] as? Int == 0, "\(summary)")
    }

    @Test func aFunctionsBacklogDoesNotHoldUpOtherFunctions() throws {
        let server = try ServerProcess(arguments: ["--queue-workers", "2"])
        defer { server.destroy() }
        let receiver = try CallbackReceiver()
        defer { receiver.stop() }
        try deploy(server, fixture: "slow", as: "slow", annotations: ["com.stratus.async.concurrency=1"])
        try deploy(server, fixture: "echo", as: "echo")
        for index in 0..<20 { #expect(try post("\(server.url)/async-function/slow", "s\(index)").status == 202) }
        let id = try #require(try post("\(server.url)/async-function/echo", "quick", headers: ["X-Callback-Url: \(receiver.url)"]).callID)
        #expect(waitUntil(60) { receiver.calls.contains { receiver.header($0, "X-Call-Id") == id } })
        // Each slow call takes 2 s, one at a time: most of them still wait when the echo is done.
        let pending = (try queue(server))["pending"] as? Int ?? 0
        #expect(pending >= 10, "the echo ran while \(pending) slow calls waited")
    }

    @Test func aBurstOfTenThousandCallsAllCompleteInBoundedMemory() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, fixture: "echo", as: "echo")
        let burst = Process()
        burst.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        burst.arguments = [WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Support/async_burst.py").path,
                           "\(server.url)/async-function/echo", "10000", "8"]
        let output = Pipe()
        burst.standardOutput = output
        try burst.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        burst.waitUntilExit()
        #expect(text.contains(#""accepted": 10000"#), "\(text)")
        #expect(waitUntil(300) {
            guard let summary = try? queue(server) else { return false }
            return summary["pending"] as? Int == 0 && summary["running"] as? Int == 0 && summary["delivering"] as? Int == 0
        })
        let describe = try cli(server, ["describe", "echo", "--json"])
        #expect(describe.stdout.contains(#""invocationCount" : 10000"#), "\(describe.stdout)")
        #expect((try queue(server))["failed"] as? Int == 0)
        // Peak resident memory of the server stays bounded: calls wait in SQLite, not in memory.
        let status = (try? String(contentsOfFile: "/proc/\(server.processIdentifier)/status", encoding: .utf8)) ?? ""
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        #expect(peak > 0 && peak < 512 * 1024, "peak RSS \(peak) kB")
    }
}
