import Foundation
import StratusTestSupport
import Testing

/// Timer triggers and published versions with aliases, through a real server as a user drives them:
/// the OpenFaaS API, the CLI, curl.
@Suite(.serialized) struct TriggerAndVersionTests {
    func cli(_ server: ServerProcess, _ arguments: [String]) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    /// `POST /system/functions` with `json`: the status and the body.
    func deploy(_ server: ServerProcess, _ json: String, method: String = "POST") throws -> (status: Int, body: String) {
        let answer = try Curl.request("\(server.url)/system/functions", method: method, body: json,
                                      headers: ["Authorization: Basic " + Data("admin:\(server.password ?? "")".utf8).base64EncodedString()])
        return (answer.status, answer.body)
    }

    /// `METHOD /system/PATH` with the server's credentials: the status and the body.
    func system(_ server: ServerProcess, _ method: String, _ path: String, _ body: String = "") throws -> (status: Int, body: String) {
        let answer = try Curl.request("\(server.url)/system/\(path)", method: method, body: body,
                                      headers: ["Authorization: Basic " + Data("admin:\(server.password ?? "")".utf8).base64EncodedString()])
        return (answer.status, answer.body)
    }

    /// A host command that writes `tick <X-Scheduled-Time> <X-Connector>` to its log on every call.
    func tickFunction(_ name: String, schedule: String, extra: String = "") -> String {
        #"{"service": "\#(name)", "image": "\#(name)", "envProcess": "sh -c 'echo tick $Http_X_Scheduled_Time $Http_X_Connector >&2'", "annotations": {"topic": "cron-function", "schedule": "\#(schedule)"\#(extra)}}"#
    }

    /// The scheduled times the function's log shows a run for, in order (repeats kept).
    func ticks(_ server: ServerProcess, _ name: String) throws -> [String] {
        try cli(server, ["logs", name]).stdout.split(separator: "\n").compactMap { line in
            // The function's own line (the watchdog's "Forking fprocess" line quotes the command).
            guard !line.contains("Forking"), let range = line.range(of: ") tick ") else { return nil }
            return line[range.upperBound...].split(separator: " ").first.map(String.init)
        }
    }

    func waitUntil(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    @Test func aTimerTriggerCallsTheFunctionOnScheduleThroughTheQueue() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        #expect(try deploy(server, tickFunction("tick", schedule: "@every 1s")).status == 202)
        #expect(try waitUntil { try ticks(server, "tick").count >= 3 }, "three ticks within seconds")
        let seen = try ticks(server, "tick")
        #expect(Set(seen).count == seen.count, "each tick ran once: \(seen)")
        let format = ISO8601DateFormatter()
        let times = seen.compactMap { format.date(from: $0) }
        #expect(times.count == seen.count, "X-Scheduled-Time is RFC 3339: \(seen)")
        #expect(times.allSatisfy { $0.timeIntervalSince1970.rounded() == $0.timeIntervalSince1970 }, "@every 1s ticks on whole seconds")
        #expect(zip(times, times.dropFirst()).allSatisfy { abs($1.timeIntervalSince($0) - 1) < 0.001 }, "one second apart: \(seen)")
        #expect(try cli(server, ["logs", "tick"]).stdout.contains("cron-connector"), "X-Connector: cron-connector")

        // stratus triggers: schedule, next run, last run and its outcome.
        #expect(try waitUntil { try cli(server, ["triggers"]).stdout.contains("→ 200") })
        let table = try cli(server, ["triggers"]).stdout
        #expect(table.contains("tick") && table.contains("@every 1s") && table.contains("UTC"), "\(table)")
        let json = try cli(server, ["triggers", "--json"]).stdout
        let triggers = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let trigger = try #require(triggers.first)
        #expect(trigger["function"] as? String == "tick" && trigger["nextRun"] != nil)
        #expect((trigger["lastRun"] as? [String: Any])?["status"] as? Int == 200)
        // describe and list -v show it too.
        #expect(try cli(server, ["describe", "tick"]).stdout.contains("Timer:"))
        #expect(try cli(server, ["list", "-v"]).stdout.contains("(timer)"))

        // A failing run is retried like any async call, then dead-lettered; the trigger shows the failure.
        let failing = #"{"service": "fails", "image": "fails", "envProcess": "sh -c 'exit 3'", "annotations": {"topic": "cron-function", "schedule": "@every 1s", "com.openfaas.retry.attempts": "2", "com.openfaas.retry.min_wait": "100ms", "com.openfaas.retry.max_wait": "100ms"}}"#
        #expect(try deploy(server, failing).status == 202)
        #expect(try waitUntil {
            let queue = try cli(server, ["queue", "list", "--state", "failed", "--json"]).stdout
            return queue.contains("timer-fails-")
        }, "the failed tick is in the dead-letter list under its deterministic id")
        #expect(try waitUntil {
            let json = try cli(server, ["triggers", "--json"]).stdout
            return json.contains("\"status\":500") || json.contains("\"status\" : 500")
        })

        // The SCF timer event, for a function that reads SCF events.
        let scf = #"{"service": "scf", "image": "scf", "envProcess": "sh -c 'cat >&2'", "annotations": {"topic": "cron-function", "schedule": "@every 1s", "com.stratus.event-format": "timer-scf", "com.stratus.schedule.name": "nightly", "com.stratus.schedule.message": "hello"}}"#
        #expect(try deploy(server, scf).status == 202)
        #expect(try waitUntil { try cli(server, ["logs", "scf"]).stdout.contains(#""Type":"Timer""#) })
        let event = try cli(server, ["logs", "scf"]).stdout
        #expect(event.contains(#""Message":"hello""#) && event.contains(#""TriggerName":"nightly""#) && event.contains(#""Time":"20"#), "\(event)")

        // Removing the function stops its trigger.
        #expect(try cli(server, ["remove", "tick"]).status == 0)
        #expect(!(try cli(server, ["triggers"]).stdout.contains("tick ")))
    }

    @Test func aBadScheduleIsRefusedAtDeployNamingTheFieldAndNothingIsDeployed() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let cases: [(String, String)] = [
            (tickFunction("bad", schedule: "*/5 * * *"), "invalid schedule '*/5 * * *': expected 5 fields"),
            (tickFunction("bad", schedule: "61 * * * *"), "minute '61' is not in 0-59"),
            (tickFunction("bad", schedule: "@every 10ms"), "at least 100ms"),
            (tickFunction("bad", schedule: "0 9 * * *", extra: #", "com.stratus.schedule.timezone": "Mars/Olympus""#), "invalid com.stratus.schedule.timezone 'Mars/Olympus'"),
            (tickFunction("bad", schedule: "0 9 * * *", extra: #", "com.stratus.schedule.catch-up": "lots""#), "invalid com.stratus.schedule.catch-up 'lots'"),
            (#"{"service": "bad", "image": "bad", "envProcess": "cat", "annotations": {"topic": "cron-function"}}"#, "needs a schedule annotation"),
        ]
        for (json, message) in cases {
            let answer = try deploy(server, json)
            #expect(answer.status == 400, "\(json): \(answer.body)")
            #expect(answer.body.contains(message), "\(answer.body)")
        }
        #expect(!(try cli(server, ["list"]).stdout.contains("bad")), "nothing was deployed")
        let triggers = try JSONSerialization.jsonObject(with: Data(try cli(server, ["triggers", "--json"]).stdout.utf8)) as? [Any]
        #expect(triggers?.isEmpty == true)
    }

    /// The test controls the trigger's clock through the store: it moves the last claimed tick five hours
    /// back while the server is stopped, as if the server had been down that long.
    @Test func missedTicksAreSkippedByDefaultAndTheLastNReplayedWithCatchUp() throws {
        // An hourly schedule (on the hour): no tick falls due on its own while the test runs.
        let minute = Calendar(identifier: .gregorian).component(.minute, from: Date())
        let second = Calendar(identifier: .gregorian).component(.second, from: Date())
        if minute == 59 && second > 45 { sleep(20) }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-it-\(UUID().uuidString)")
        var server = try ServerProcess(dataDirectory: data)
        #expect(try deploy(server, tickFunction("replays", schedule: "@every 1h", extra: #", "com.stratus.schedule.catch-up": "3""#)).status == 202)
        #expect(try deploy(server, tickFunction("skips", schedule: "@every 1h")).status == 202)
        #expect(try waitUntil { server.output.components(separatedBy: "timer trigger armed").count - 1 == 2 })
        server.stop()
        let database = data.appendingPathComponent("stratus.db").path
        let hour: Int64 = 3_600_000
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let fiveHoursAgo = (now / hour - 5) * hour + 1
        let status = HardeningTests.run("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", database, "UPDATE timerTrigger SET lastTick = \(fiveHoursAgo)"])
        #expect(status == 0)
        server = try ServerProcess(dataDirectory: data)
        defer { server.destroy() }
        #expect(try waitUntil { try ticks(server, "replays").count >= 3 })
        usleep(1_500_000)
        let format = ISO8601DateFormatter()
        let expected = (1...3).reversed().map { format.string(from: Date(timeIntervalSince1970: Double((now / hour + 1 - $0) * hour) / 1000)) }
        let replayed = try ticks(server, "replays")
        // The three run at once: their log lines may interleave in any order.
        #expect(replayed.sorted() == expected, "the last three missed hours, once each: \(replayed) vs \(expected)")
        #expect(try ticks(server, "skips").isEmpty, "no replay without catch-up")
        #expect(server.output.contains("timer trigger: 5 tick(s) missed while no node ran it were skipped"), "\(server.output)")
        #expect(server.output.contains("timer trigger: 5 tick(s) missed while no node ran it; replaying the last 3"))
        // The replays are not replayed again after another restart.
        server.stop()
        server = try ServerProcess(dataDirectory: data)
        usleep(1_500_000)
        #expect(try ticks(server, "replays").count == 3)
    }


    @Test func publishedVersionsAnswerBesideLatestAndAliasesSplitByWeightAndStick() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-it-\(UUID().uuidString)")
        var server = try ServerProcess(dataDirectory: data)
        defer { server.destroy() }
        let receiver = try CallbackReceiver()
        defer { receiver.stop() }
        #expect(try cli(server, ["publish", "fn"]).stderr.contains("not found"), "nothing to publish yet")
        #expect(try cli(server, ["deploy", "--name", "fn", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        let published = try cli(server, ["publish", "fn", "--description", "echo"])
        #expect(published.status == 0 && published.stdout.contains("version 1"), "\(published.stderr)")
        #expect(try cli(server, ["deploy", "--name", "fn", "--wasm", try WasmFixtures.path("env").path]).status == 0)
        #expect(try cli(server, ["publish", "fn"]).stdout.contains("version 2"))
        // $LATEST, version 1 (frozen echo), version 2.
        #expect(try Curl.request("\(server.url)/function/fn", body: "hello").body.hasPrefix("Http_Method=POST"))
        #expect(try Curl.request("\(server.url)/function/fn:1", body: "hello").body == "hello")
        #expect(try Curl.request("\(server.url)/function/fn:2", body: "hello").body.hasPrefix("Http_Method=POST"))
        #expect(try Curl.request("\(server.url)/function/fn:3", body: "x").status == 404)
        #expect(try Curl.request("\(server.url)/function/fn:prod", body: "x").status == 404, "no such alias yet")

        // Weighted alias: 10,000 calls with distinct ids split 90/10 within ±2 %.
        let set = try cli(server, ["alias", "set", "fn", "prod", "1=90,2=10"])
        #expect(set.status == 0 && set.stdout.contains("version 1 90%, version 2 10%"), "\(set.stderr)")
        let split = try WasmFixtures.output("/usr/bin/python3", [WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Support/alias_split.py").path,
                                                                 "\(server.url)/function/fn:prod", "10000"])
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(split.utf8)) as? [String: Int])
        let one = counts["200 hello"] ?? 0, two = counts["200 Http_Method=POST"] ?? 0
        #expect(one + two == 10_000, "\(counts)")
        #expect(abs(Double(one) / 100 - 90) <= 2 && abs(Double(two) / 100 - 10) <= 2, "\(counts)")
        // One call id always reaches the same version (a retry sticks).
        for id in ["retry-a", "retry-b", "retry-c"] {
            let answers = Set(try (0..<10).map { _ in try Curl.request("\(server.url)/function/fn:prod", body: "hello", headers: ["X-Call-Id: \(id)"]).body })
            #expect(answers.count == 1, "\(id): \(answers)")
        }
        // Each version keeps its own stats.
        let versions = try cli(server, ["versions", "fn", "--json"]).stdout
        let list = try #require(try JSONSerialization.jsonObject(with: Data(versions.utf8)) as? [[String: Any]])
        let invocations = list.map { ($0["invocationCount"] as? Double) ?? 0 }
        #expect(invocations.count == 2 && invocations[0] >= Double(one) && invocations[1] >= Double(two), "\(invocations) vs \(counts)")
        #expect(try cli(server, ["list", "-v"]).stdout.contains("fn:prod"))
        #expect(try cli(server, ["describe", "fn"]).stdout.contains("prod=90%"))

        // Async calls can name an alias: the call id picks the version, the callback gets its answer.
        let async = try Curl.request("\(server.url)/async-function/fn:prod", body: "hello",
                                     headers: ["X-Callback-Url: \(receiver.url)", "X-Call-Id: call-0"])
        #expect(async.status == 202)
        #expect(try waitUntil { receiver.calls.count == 1 })
        let callback = try #require(receiver.calls.first)
        let expected = try Curl.request("\(server.url)/function/fn:prod", body: "hello", headers: ["X-Call-Id: call-0"]).body
        #expect(callback["body"] as? String == expected)

        // A version an alias routes to cannot go (409); a bad alias is a 400 naming the problem.
        let refused = try cli(server, ["versions", "fn", "--remove", "2"])
        #expect(refused.status != 0 && refused.stderr.contains("409") && refused.stderr.contains("alias prod"), "\(refused.stderr)")
        #expect(try cli(server, ["alias", "set", "fn", "prod", "1=90,2=5"]).stderr.contains("add up to 95, not 100"))
        #expect(try cli(server, ["alias", "set", "fn", "next", "7"]).stderr.contains("version 7 of 'fn', which is not published"))
        #expect(try cli(server, ["alias", "set", "fn", "9lives", "1"]).stderr.contains("400"))
        // Malformed requests to the version and alias routes: clear errors, nothing changed.
        #expect(try system(server, "PUT", "function/fn/aliases/prod", "{").status == 400)
        #expect(try system(server, "PUT", "function/fn/aliases/prod", #"{"routes": [{"version": 1, "weight": "all"}]}"#).status == 400)
        #expect(try system(server, "POST", "function/fn/versions", "[1, 2").status == 400)
        #expect(try system(server, "DELETE", "function/fn/versions/two").status == 404)
        #expect(try system(server, "GET", "function/ghost/versions").status == 404)
        #expect(try system(server, "PUT", "function/ghost/aliases/prod", #"{"routes": [{"version": 1, "weight": 100}]}"#).status == 404)
        #expect(try system(server, "GET", "function/fn/aliases").body.contains(#""weight":90"#), "the alias is unchanged")
        #expect(try Curl.status(["-X", "POST", "\(server.url)/system/function/fn/versions"]) == 401, "the routes ask for credentials")
        #expect(try cli(server, ["alias", "set", "fn", "prod", "1"]).status == 0)
        #expect(Set(try (0..<20).map { try Curl.request("\(server.url)/function/fn:prod", body: "hello", headers: ["X-Call-Id: c\($0)"]).body }) == ["hello"])
        #expect(try cli(server, ["versions", "fn", "--remove", "2"]).status == 0)
        #expect(try Curl.request("\(server.url)/function/fn:2", body: "x").status == 404)

        // A version scales on its own, and keeps its count.
        let scaled = try cli(server, ["scale", "fn:1", "--replicas", "3"])
        #expect(scaled.status == 0 && scaled.stdout.contains("Scaled fn:1 to 3 replicas"), "\(scaled.stdout)\(scaled.stderr)")
        #expect(try cli(server, ["scale", "fn:prod", "--replicas", "3"]).stderr.contains("aliases cannot be scaled"))
        #expect(try cli(server, ["scale", "fn:9", "--replicas", "3"]).stderr.contains("404"))

        // Nothing is lost on restart: versions, aliases, their answers, a version's replicas.
        server.stop()
        server = try ServerProcess(dataDirectory: data)
        #expect(try waitUntil { try Curl.request("\(server.url)/function/fn:prod", body: "again").body == "again" })
        #expect(try Curl.request("\(server.url)/function/fn:1", body: "again").body == "again")
        #expect(try cli(server, ["versions", "fn", "--json"]).stdout.contains(#""replicas" : 3"#))
        #expect(try cli(server, ["publish", "fn"]).stdout.contains("version 3"), "numbers are never reused")
        // Removing the function takes its versions and aliases with it.
        #expect(try cli(server, ["remove", "fn"]).status == 0)
        #expect(try Curl.request("\(server.url)/function/fn:1", body: "x").status == 404)
        #expect(try Curl.request("\(server.url)/function/fn:prod", body: "x").status == 404)
    }

    @Test func aTimerCanTargetAnAliasAndProcessFunctionsHaveVersionsToo() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        // A classic process function: version 1 says "one", $LATEST says "two".
        func process(_ word: String, extra: String = "") -> String {
            #"{"service": "say", "image": "say", "envProcess": "sh -c 'echo \#(word) $Http_X_Scheduled_Time >&2; echo \#(word)'"\#(extra)}"#
        }
        #expect(try deploy(server, process("one")).status == 202)
        #expect(try cli(server, ["publish", "say"]).status == 0)
        #expect(try cli(server, ["alias", "set", "say", "live", "1"]).status == 0)
        let timer = #", "annotations": {"topic": "cron-function", "schedule": "@every 1s", "com.stratus.schedule.target": "live"}"#
        #expect(try deploy(server, process("two", extra: timer), method: "PUT").status == 202)
        #expect(try Curl.request("\(server.url)/function/say", body: "").body == "two\n")
        #expect(try Curl.request("\(server.url)/function/say:live", body: "").body == "one\n")
        // The trigger belongs to $LATEST but calls the alias: version 1 runs on schedule.
        #expect(try waitUntil { try cli(server, ["logs", "say"]).stdout.contains("one 20") })
        #expect(!(try cli(server, ["logs", "say"]).stdout.contains("two 20")), "$LATEST is not what the timer calls")
        #expect(try cli(server, ["triggers"]).stdout.contains("say:live"))
    }
}
