import Foundation
import StratusTestSupport
import Testing

/// Several `stratus serve` nodes on one PostgreSQL, as a user runs a cluster: shared key and
/// credentials files, `--store postgres://…`, each node on its own port and data directory.
final class Cluster: @unchecked Sendable {
    let postgres: PostgresServer
    let store: String
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-cluster-\(UUID().uuidString)")
    var keyFile: URL { root.appendingPathComponent("key") }
    var credentialsFile: URL { root.appendingPathComponent("credentials") }
    let password = "cluster-\(UUID().uuidString.prefix(8))"
    private(set) var nodes: [ServerProcess] = []
    /// Extra `serve` flags for every node.
    let flags: [String]

    init(nodes count: Int, postgres: PostgresServer = .shared, flags: [String] = []) throws {
        self.postgres = postgres
        self.flags = flags
        store = try postgres.makeDatabase()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: keyFile)
        try Data(#"{"user": "admin", "password": "\#(password)"}"#.utf8).write(to: credentialsFile)
        for _ in 0..<count { nodes.append(try startNode()) }
    }

    /// Starts one more node (or one with `key` instead of the cluster's).
    func startNode(key: URL? = nil, name: String? = nil, store: String? = nil, networkNamespace: String? = nil) throws -> ServerProcess {
        let data = root.appendingPathComponent("node-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        // The CLI of the tests logs in with the data directory's credentials file: the cluster's.
        try FileManager.default.copyItem(at: credentialsFile, to: data.appendingPathComponent("credentials"))
        return try ServerProcess(dataDirectory: data, arguments: [
            "--store", store ?? self.store, "--secret-key-file", (key ?? keyFile).path, "--credentials-file", credentialsFile.path,
        ] + (name.map { ["--node-name", $0] } ?? []) + flags, networkNamespace: networkNamespace)
    }

    private let lock = NSLock()
    func add(_ node: ServerProcess) { lock.withLock { nodes.append(node) } }

    func cli(_ node: ServerProcess, _ arguments: [String], stdin: String = "") throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", node.url], environment: ["STRATUS_HOME": node.dataDirectory.path], stdin: stdin)
    }

    /// `curl -u admin:… ARGUMENTS` against a node's /system API: the status code.
    func system(_ node: ServerProcess, _ method: String, _ path: String, body: String? = nil) throws -> Int {
        try Curl.status(["-u", "admin:\(password)", "-X", method, "\(node.url)\(path)"] + (body.map { ["--data-binary", $0] } ?? []))
    }

    /// Calls `/function/NAME` on `node` until it answers `expect`, up to `within` seconds; returns the seconds it took, or nil.
    func waitForAnswer(_ node: ServerProcess, _ function: String, body: String = "", expect: (Int, String) -> Bool, within: Double = 10) throws -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < within {
            let answer = try Curl.request("\(node.url)/function/\(function)", body: body)
            if expect(answer.status, answer.body) { return Date().timeIntervalSince(start) }
            usleep(20_000)
        }
        return nil
    }

    func destroy() {
        for node in nodes { node.destroy() }
        try? FileManager.default.removeItem(at: root)
    }
}

@Suite(.serialized, .enabled(if: PostgresServer.isAvailable, "PostgreSQL 15 is not installed (make test installs postgresql-15)"))
struct ClusterTests {
    @Test func aDeployThroughOneNodeAnswersOnEveryNodeAndUpdatesAndRemovalsFollow() throws {
        let cluster = try Cluster(nodes: 3)
        defer { cluster.destroy() }
        let (one, two, three) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        let deploy = try cluster.cli(one, ["deploy", "--name", "env", "--wasm", try WasmFixtures.path("env").path, "--env", "MY_VAR=first"])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        for node in [two, three] {
            let took = try cluster.waitForAnswer(node, "env") { status, body in status == 200 && body.contains("MY_VAR=first") }
            #expect(took != nil, "node \(node.url) never served the deployed function")
        }
        // Node 1 compiled the module (Wasmtime) when it was uploaded; the others load that code from the shared store.
        #expect(one.output.contains("Wasmtime compiled a module") || !one.output.contains("Wasm functions run on Wasmtime"), "\(one.output)")
        for node in [two, three] where node.output.contains("Wasm functions run on Wasmtime") {
            #expect(node.output.contains("Wasmtime code loaded from the compiled-code cache"), "\(node.output)")
            #expect(!node.output.contains("Wasmtime compiled a module"), "another node compiled nothing:\n\(node.output)")
        }
        // An update through node 2 reaches every node.
        let update = try cluster.cli(two, ["deploy", "--name", "env", "--image", "env:latest", "--env", "MY_VAR=second"])
        #expect(update.status == 0, "\(update.stderr)")
        for node in [one, two, three] {
            let took = try cluster.waitForAnswer(node, "env") { status, body in status == 200 && body.contains("MY_VAR=second") }
            #expect(took != nil, "node \(node.url) never served the update")
        }
        // Scale through node 1: every node's listing says so (the store holds replicas).
        #expect(try cluster.system(one, "POST", "/system/scale-function/env", body: #"{"serviceName": "env", "replicas": 3}"#) == 202)
        // Removal through node 3: 404 everywhere.
        #expect(try cluster.cli(three, ["remove", "env"]).status == 0)
        for node in [one, two, three] {
            let took = try cluster.waitForAnswer(node, "env") { status, _ in status == 404 }
            #expect(took != nil, "node \(node.url) still serves a removed function")
        }
        // A site deployed through node 1 is served by node 3; removed through node 2, it is gone from node 3.
        let folder = cluster.root.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("<h1>Cluster</h1>".utf8).write(to: folder.appendingPathComponent("index.html"))
        #expect(try cluster.cli(one, ["site", "deploy", "docs", folder.path]).status == 0)
        #expect(Self.waitFor(10) { (try? Curl.run(["\(three.url)/sites/docs/"])) == "<h1>Cluster</h1>" }, "node 3 serves the site")
        #expect(try cluster.cli(two, ["site", "remove", "docs"]).status == 0)
        #expect(Self.waitFor(10) { (try? Curl.status(["\(three.url)/sites/docs/"])) == 404 }, "node 3 stopped serving the removed site")
        // Every node is listed, by any node, with its address; logs of all nodes meet in one place.
        let nodes = try cluster.cli(two, ["nodes", "--json"])
        let listed = (try JSONSerialization.jsonObject(with: Data(nodes.stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(Set(listed.compactMap { $0["address"] as? String }).count == 3, "\(nodes.stdout) \(nodes.stderr)")
        let table = try cluster.cli(one, ["nodes"])
        #expect(table.stdout.contains("NODE") && table.stdout.contains("HEARTBEAT"), "\(table.stdout)")
        let metrics = try Curl.run(["\(one.url)/metrics"])
        #expect(metrics.contains("node=\""), "each node's samples carry its name")
        // Nodes 1 and 2 learnt of the removal from the store; node 3 made it.
        for node in [one, two] { #expect(node.output.contains("function removed through another node"), "\(node.output)") }
        #expect(!three.output.contains("function removed through another node"), "\(three.output)")
        // The node list asks for credentials, as all of /system does.
        #expect(try Curl.status(["\(one.url)/system/nodes"]) == 401)
        #expect(try Curl.status(["-u", "admin:wrong", "\(one.url)/system/nodes"]) == 401)
    }

    /// The notifications a node listens for are cut (its LISTEN connection is terminated on the
    /// server): changes made meanwhile reach it anyway, through the change counter or the catch-up
    /// after it listens again.
    @Test func aNodeThatMissesNotificationsCatchesUp() throws {
        let cluster = try Cluster(nodes: 2)
        defer { cluster.destroy() }
        let (one, two) = (cluster.nodes[0], cluster.nodes[1])
        let terminated = try cluster.postgres.psql(cluster.store, """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'
            """)
        #expect(terminated == "2", "both nodes listen: \(terminated)")
        #expect(try cluster.cli(one, ["deploy", "--name", "late-news", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        #expect(try cluster.waitForAnswer(two, "late-news", body: "x") { status, body in status == 200 && body == "x" } != nil)
        #expect(Self.waitFor(10) { two.output.contains("PostgreSQL notifications are back") }, "\(two.output)")
    }

    /// Idle dispatchers wait for a notification, not on a busy loop: after async calls through both
    /// nodes, an idle cluster node uses (almost) no CPU, as a lone server does (HardeningTests).
    @Test func idleClusterNodesStayIdleAfterAsyncCalls() throws {
        let cluster = try Cluster(nodes: 2, flags: ["--log-level", "warning"])
        defer { cluster.destroy() }
        #expect(try cluster.cli(cluster.nodes[0], ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        for node in cluster.nodes { _ = try cluster.waitForAnswer(node, "echo", body: "x") { status, _ in status == 200 } }
        for index in 0..<6 {
            #expect(try Curl.status(["-X", "POST", "--data-binary", "later", "\(cluster.nodes[index % 2].url)/async-function/echo"]) == 202)
        }
        #expect(Self.waitFor(20) { (try? cluster.postgres.psql(cluster.store, "SELECT count(*) FROM async_call")) == "0" })
        usleep(500_000)
        for node in cluster.nodes {
            let before = HardeningTests.cpuTicks(node.processIdentifier)
            sleep(3)
            let used = HardeningTests.cpuTicks(node.processIdentifier) - before
            print("idle cluster node: \(used) CPU ticks in 3 s")
            // A busy loop burns ~100 ticks a second; an idle node a handful (heartbeats every 2 s).
            #expect(used < 60, "an idle cluster node used \(used) CPU ticks in 3 s")
        }
    }

    @Test func aSecretCreatedThroughOneNodeIsReadByAFunctionCalledThroughAnother() throws {
        let cluster = try Cluster(nodes: 3)
        defer { cluster.destroy() }
        let (one, three) = (cluster.nodes[0], cluster.nodes[2])
        #expect(try cluster.cli(three, ["secret", "create", "token", "--from-literal", "s3cret-from-node-3"]).status == 0)
        #expect(try cluster.cli(one, ["deploy", "--name", "reader", "--wasm", try WasmFixtures.path("readfile").path]).status == 0)
        #expect(try cluster.system(one, "PUT", "/system/functions", body: #"{"service": "reader", "image": "reader:latest", "secrets": ["token"]}"#) == 202)
        let answer = try Curl.request("\(one.url)/function/reader", body: "/var/openfaas/secrets/token")
        #expect(answer.body == "s3cret-from-node-3", "\(answer)")
        // The secret never travels in the clear: the database holds it sealed.
        let stored = try cluster.postgres.psql(cluster.store, "SELECT encode(sealed, 'escape') FROM secret WHERE name = 'token'")
        #expect(!stored.contains("s3cret"))
    }

    @Test func aFollowedLogShowsLinesWrittenThroughEveryNode() throws {
        let cluster = try Cluster(nodes: 2)
        defer { cluster.destroy() }
        let (one, two) = (cluster.nodes[0], cluster.nodes[1])
        #expect(try cluster.cli(one, ["deploy", "--name", "talker", "--wasm", try WasmFixtures.path("stderr").path]).status == 0)
        #expect(try cluster.waitForAnswer(two, "talker") { status, _ in status == 200 } != nil)
        // Followed through node 2; the function called through node 1 (and node 2).
        let follow = try Curl.start(["-N", "-u", "admin:\(cluster.password)", "\(two.url)/system/logs?name=talker&follow=true"])
        usleep(500_000)
        for _ in 0..<3 { _ = try Curl.request("\(one.url)/function/talker", body: "") }
        _ = try Curl.request("\(two.url)/function/talker", body: "")
        usleep(3_000_000)
        // Without following, the log merges every node's lines too.
        let stored = try cluster.cli(one, ["logs", "talker"])
        // Five calls: the one that found the function on node 2, three through node 1, one through node 2.
        #expect(stored.stdout.components(separatedBy: "log line").count - 1 == 5, "\(stored.stdout) \(stored.stderr)")
        // Removing the function ends the followed stream on every node.
        #expect(try cluster.cli(one, ["remove", "talker"]).status == 0)
        let lines = follow.output().split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let nodes = lines.filter { ($0["text"] as? String) == "log line" }.compactMap { $0["node"] as? String }
        #expect(nodes.count == 5, "five calls, five lines (the first stored before the follow began): \(lines)")
        #expect(nodes.filter { $0 != nodes.first }.count == 3, "the three calls through node 1 reached the follower on node 2: \(nodes)")
        #expect(Set(nodes).count == 2, "lines from both nodes: \(nodes)")
    }

    @Test func asyncCallsThroughEveryNodeAllCompleteWhenANodeIsKilledHalfWay() throws {
        let cluster = try Cluster(nodes: 3, flags: ["--queue-lease", "2s"])
        defer { cluster.destroy() }
        let receiver = try CallbackReceiver()
        defer { receiver.stop() }
        #expect(try cluster.cli(cluster.nodes[0], ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        for node in cluster.nodes { _ = try cluster.waitForAnswer(node, "echo", body: "x") { status, _ in status == 200 } }
        let total = 1000
        var accepted = 0
        for index in 0..<total {
            if index == total / 2 { cluster.nodes[1].killHard() }
            // Round robin over the nodes still alive.
            let node = index >= total / 2 ? [cluster.nodes[0], cluster.nodes[2]][index % 2] : cluster.nodes[index % 3]
            let status = try Curl.status(["-X", "POST", "--data-binary", "call-\(index)", "-H", "X-Callback-Url: \(receiver.url)",
                                          "-H", "X-Call-Id: call-\(index)", "\(node.url)/async-function/echo"])
            if status == 202 { accepted += 1 }
        }
        #expect(accepted == total)
        let deadline = Date().addingTimeInterval(120)
        var ids: [String] = []
        while Date() < deadline {
            ids = receiver.calls.compactMap { receiver.header($0, "X-Call-Id") }
            if Set(ids).count >= total { break }
            usleep(200_000)
        }
        let distinct = Set(ids)
        #expect(distinct.count == total, "callbacks for \(distinct.count) of \(total) calls")
        print("cluster async: \(total) calls, \(distinct.count) called back, \(ids.count - distinct.count) duplicates (at least once)")
        #expect(try cluster.postgres.psql(cluster.store, "SELECT count(*) FROM async_call") == "0", "every call finished and left the queue")
    }

    /// One node fires each tick: three nodes race for every tick of a 100ms schedule, a node is killed
    /// half-way, and the function (which reports each tick to a receiver) runs every tick exactly once.
    @Test func aTimerFiresEveryTickOnceAcrossTheClusterWhileANodeIsKilled() throws {
        let cluster = try Cluster(nodes: 3, flags: ["--queue-lease", "2s"])
        defer { cluster.destroy() }
        let receiver = try CallbackReceiver()
        defer { receiver.stop() }
        func deployment(_ schedule: String) -> String {
            #"{"service": "tick", "image": "tick", "envProcess": "sh -c 'curl -s -o /dev/null --data-binary \"$Http_X_Scheduled_Time\" \#(receiver.url)'", "annotations": {"topic": "cron-function", "schedule": "\#(schedule)"}}"#
        }
        #expect(try cluster.system(cluster.nodes[0], "POST", "/system/functions", body: deployment("@every 100ms")) == 202)
        func ticks() -> [String] { receiver.calls.compactMap { $0["body"] as? String } }
        #expect(Self.waitFor(30) { ticks().count >= 30 })
        cluster.nodes[1].killHard()
        #expect(Self.waitFor(30) { ticks().count >= 70 })
        // A schedule change through another node applies on every node within a second.
        #expect(try cluster.system(cluster.nodes[2], "PUT", "/system/functions", body: deployment("@every 1h")) == 202)
        let changed = Date()
        sleep(3)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let seen = ticks()
        let times = seen.compactMap { format.date(from: $0) ?? plain.date(from: $0) }.sorted()
        #expect(times.count == seen.count, "every X-Scheduled-Time parses: \(seen.prefix(5))")
        #expect(Set(seen).count == seen.count, "\(seen.count - Set(seen).count) tick(s) ran twice")
        let first = try #require(times.first), last = try #require(times.last)
        let expected = Int((last.timeIntervalSince(first) * 10).rounded()) + 1
        #expect(seen.count == expected, "\(expected - seen.count) tick(s) lost between the first and the last")
        #expect(last.timeIntervalSince(changed) < 1, "the old schedule stopped within a second of the change on every node")
        let byNode = try cluster.postgres.psql(cluster.store, "SELECT last_fired_by FROM timer_trigger")
        print("cluster timer: \(seen.count) ticks, \(Set(seen).count) distinct, last claimed by \(byNode)")
        #expect(try cluster.postgres.psql(cluster.store, "SELECT count(*) FROM async_call") == "0", "every tick's call finished")
    }

    /// Publishing and alias changes through one node are served by every node within a second.
    @Test func versionsAndAliasesMadeThroughOneNodeAnswerOnEveryNodeWithinASecond() throws {
        let cluster = try Cluster(nodes: 3)
        defer { cluster.destroy() }
        #expect(try cluster.cli(cluster.nodes[0], ["deploy", "--name", "fn", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        for node in cluster.nodes { _ = try cluster.waitForAnswer(node, "fn", body: "x") { status, _ in status == 200 } }
        #expect(try cluster.cli(cluster.nodes[0], ["publish", "fn"]).status == 0)
        for node in cluster.nodes.dropFirst() {
            let took = try cluster.waitForAnswer(node, "fn:1", body: "v1", expect: { status, body in status == 200 && body == "v1" }, within: 5)
            print("cluster versions: version 1 answered on another node \(String(format: "%.3f", took ?? -1)) s after publish returned")
            #expect(took != nil && took! < 1, "version 1 answered on another node after \(took ?? -1) s")
        }
        #expect(try cluster.cli(cluster.nodes[1], ["alias", "set", "fn", "prod", "1"]).status == 0)
        for node in [cluster.nodes[0], cluster.nodes[2]] {
            let took = try cluster.waitForAnswer(node, "fn:prod", body: "p", expect: { status, body in status == 200 && body == "p" }, within: 5)
            print("cluster versions: the alias answered on another node \(String(format: "%.3f", took ?? -1)) s after alias set returned")
            #expect(took != nil && took! < 1, "the alias answered on another node after \(took ?? -1) s")
        }
        // A removal through a third node: the alias and the version are gone everywhere.
        #expect(try cluster.cli(cluster.nodes[2], ["alias", "remove", "fn", "prod"]).status == 0)
        #expect(try cluster.cli(cluster.nodes[2], ["versions", "fn", "--remove", "1"]).status == 0)
        for node in cluster.nodes {
            #expect(try cluster.waitForAnswer(node, "fn:1", expect: { status, _ in status == 404 }, within: 5) != nil)
            #expect(try cluster.waitForAnswer(node, "fn:prod", expect: { status, _ in status == 404 }, within: 5) != nil)
        }
    }

    @Test func callsKeepAnsweringWhilePostgreSQLIsDownAndWritesGet503() throws {
        // A server of its own: this test stops it.
        let postgres = try PostgresServer()
        let cluster = try Cluster(nodes: 2, postgres: postgres)
        defer { cluster.destroy() }
        #expect(try cluster.cli(cluster.nodes[0], ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        for node in cluster.nodes { _ = try cluster.waitForAnswer(node, "echo", body: "x") { status, _ in status == 200 } }
        try postgres.stop()
        let outage = Date()
        // A deploy during the outage, beside the calls: it waits for the database up to its deadline, then 503.
        let deployStatus = LockedText()
        let deploying = DispatchGroup()
        DispatchQueue.global().async(group: deploying) {
            let status = (try? cluster.system(cluster.nodes[1], "POST", "/system/functions", body: #"{"service": "late", "image": "echo:latest"}"#)) ?? 0
            deployStatus.append(Data("\(status)".utf8))
        }
        var calls = 0, failed = 0
        while Date().timeIntervalSince(outage) < 5 {
            for node in cluster.nodes {
                let answer = try Curl.request("\(node.url)/function/echo", body: "during the outage")
                calls += 1
                if answer.status != 200 || answer.body != "during the outage" { failed += 1 }
            }
        }
        deploying.wait()
        #expect(calls > 10 && failed == 0, "\(failed) of \(calls) calls failed while PostgreSQL was down")
        #expect(deployStatus.text == "503", "a deploy during the outage: \(deployStatus.text)")
        try postgres.start()
        // Both nodes reconnect by themselves: a deploy through either works, and both serve it.
        var redeployed = 0
        for _ in 0..<100 {
            redeployed = try cluster.system(cluster.nodes[1], "POST", "/system/functions", body: #"{"service": "late", "image": "echo:latest"}"#)
            if redeployed == 202 { break }
            usleep(200_000)
        }
        #expect(redeployed == 202)
        for node in cluster.nodes {
            #expect(try cluster.waitForAnswer(node, "late", body: "back") { status, body in status == 200 && body == "back" } != nil)
        }
    }

    @Test func twoNodesStartedTogetherOnAnEmptyDatabaseMigrateOnce() throws {
        let cluster = try Cluster(nodes: 0)
        defer { cluster.destroy() }
        let started = LockedText()
        let group = DispatchGroup()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do { cluster.add(try cluster.startNode()) } catch { started.append(Data("\(error)".utf8)) }
            }
        }
        group.wait()
        #expect(started.text.isEmpty, "\(started.text)")
        #expect(cluster.nodes.count == 2)
        for node in cluster.nodes { #expect(try Curl.status(["\(node.url)/healthz"]) == 200) }
        // Each of the schema's migrations (v1 the cluster schema, v2 versions, aliases and timers) applied once, by one node.
        #expect(try cluster.postgres.psql(cluster.store, "SELECT string_agg(version::text, ',' ORDER BY version) FROM stratus_migration") == "1,2")
        #expect(cluster.nodes.filter { $0.output.contains("PostgreSQL store migrated") }.count == 1)
    }

    @Test func aNodeWithTheWrongSecretKeyRefusesToStartAndChangesNothing() throws {
        let cluster = try Cluster(nodes: 1)
        defer { cluster.destroy() }
        #expect(try cluster.cli(cluster.nodes[0], ["secret", "create", "token", "--from-literal", "v"]).status == 0)
        let before = try cluster.postgres.psql(cluster.store, "SELECT (SELECT count(*) FROM node), (SELECT value FROM change_counter), (SELECT count(*) FROM meta)")
        let wrong = cluster.root.appendingPathComponent("wrong-key")
        try Data(repeating: 9, count: 32).write(to: wrong)
        do {
            cluster.add(try cluster.startNode(key: wrong, name: "intruder"))
            Issue.record("a node with the wrong key started")
        } catch {
            #expect("\(error)".contains("is not the key this store's secrets were encrypted with"), "\(error)")
        }
        #expect(try cluster.postgres.psql(cluster.store, "SELECT (SELECT count(*) FROM node), (SELECT value FROM change_counter), (SELECT count(*) FROM meta)") == before)
        #expect(try cluster.postgres.psql(cluster.store, "SELECT count(*) FROM node WHERE id = 'intruder'") == "0")
    }

    @Test func badClusterSettingsStopTheNodeWithAClearMessage() throws {
        let cluster = try Cluster(nodes: 0)
        defer { cluster.destroy() }
        let data = cluster.root.appendingPathComponent("lonely").path
        func serve(_ arguments: [String]) throws -> StratusBinary.Output {
            try StratusBinary.run(["serve", "--port", "0", "--data-dir", data] + arguments)
        }
        let noCredentials = try serve(["--store", cluster.store, "--secret-key-file", cluster.keyFile.path])
        #expect(noCredentials.status != 0 && noCredentials.stderr.contains("needs --credentials-file"), "\(noCredentials.stderr)")
        let noKey = try serve(["--store", cluster.store, "--credentials-file", cluster.credentialsFile.path])
        #expect(noKey.status != 0 && noKey.stderr.contains("needs --secret-key-file"), "\(noKey.stderr)")
        let notPostgres = try serve(["--store", "mysql://root@127.0.0.1/x", "--secret-key-file", cluster.keyFile.path,
                                     "--credentials-file", cluster.credentialsFile.path])
        #expect(notPostgres.status != 0 && notPostgres.stderr.contains("is not a postgres:// URL"), "\(notPostgres.stderr)")
        let badLease = try serve(["--store", cluster.store, "--secret-key-file", cluster.keyFile.path, "--credentials-file", cluster.credentialsFile.path,
                                  "--queue-lease", "0.5s"])
        #expect(badLease.status != 0 && badLease.stderr.contains("--queue-lease must be 1s or more"), "\(badLease.stderr)")
        let notADuration = try serve(["--queue-lease", "soon", "--no-auth"])
        #expect(notADuration.status != 0 && notADuration.stderr.contains("--queue-lease"), "\(notADuration.stderr)")
        let shortKey = cluster.root.appendingPathComponent("short-key")
        try Data(repeating: 1, count: 16).write(to: shortKey)
        let badKey = try serve(["--store", cluster.store, "--secret-key-file", shortKey.path, "--credentials-file", cluster.credentialsFile.path])
        #expect(badKey.status != 0 && badKey.stderr.contains("does not hold a 32-byte key"), "\(badKey.stderr)")
        #expect(try cluster.postgres.psql(cluster.store, "SELECT count(*) FROM pg_tables WHERE tablename = 'function'") == "0", "nothing was written")
    }

    /// A node in a network namespace of its own, reaching PostgreSQL over a veth pair the test makes
    /// (and removes, also on failure): while its link is down its lease runs out and another node
    /// runs the call; when the link is back, its own late outcome is refused (fenced by the claim).
    @Test(.enabled(if: getuid() == 0, "network namespaces need root"))
    func aNodeCutOffFromPostgreSQLLosesItsLeaseAndCannotRecordASecondOutcome() throws {
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        let namespace = "stratus-cut-\(tag)", outside = "sc\(tag)h", inside = "sc\(tag)n"
        let octet = Int.random(in: 1...250)
        let hostAddress = "10.213.\(octet).1", nodeAddress = "10.213.\(octet).2"
        try Self.shell("ip netns add \(namespace)")
        defer {
            _ = try? Self.shell("ip netns del \(namespace)")
            _ = try? Self.shell("ip link del \(outside) 2>/dev/null || true")
        }
        try Self.shell("""
            ip link add \(outside) type veth peer name \(inside) && ip link set \(inside) netns \(namespace) && \
            ip addr add \(hostAddress)/30 dev \(outside) && ip link set \(outside) up && \
            ip netns exec \(namespace) ip addr add \(nodeAddress)/30 dev \(inside) && ip netns exec \(namespace) ip link set \(inside) up && \
            ip netns exec \(namespace) ip link set lo up
            """)
        let postgres = try PostgresServer(listen: [hostAddress], trust: ["\(nodeAddress)/32"])
        let cluster = try Cluster(nodes: 0, postgres: postgres, flags: ["--queue-lease", "2s"])
        defer { cluster.destroy() }
        let cut = try cluster.startNode(name: "cut-node", store: cluster.store.replacingOccurrences(of: "127.0.0.1", with: hostAddress),
                                        networkNamespace: namespace)
        cluster.add(cut)
        func inNamespace(_ arguments: [String]) throws -> String {
            try Self.shell((["ip", "netns", "exec", namespace, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:\(cluster.password)"]
                            + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " "))
        }
        let slow = #"{"service": "slow", "image": "slow", "envProcess": "sh -c 'sleep 6; echo done'", "annotations": {"com.stratus.async.concurrency": "1"}}"#
        #expect(try inNamespace(["-X", "POST", "--data-binary", slow, "\(cut.url)/system/functions"]) == "202")
        #expect(try inNamespace(["-X", "POST", "--data-binary", "x", "-H", "X-Call-Id: cut-1", "\(cut.url)/async-function/slow"]) == "202")
        func owner() throws -> String { try postgres.psql(cluster.store, "SELECT claimed_by || ':' || claim FROM async_call WHERE id = 'cut-1'") }
        #expect(Self.waitFor(10) { (try? owner()) == "cut-node:1" }, "the node in the namespace claimed the call")

        try Self.shell("ip link set \(outside) down")
        let healthy = try cluster.startNode(name: "healthy-node")
        cluster.add(healthy)
        #expect(Self.waitFor(20) { (try? owner()) == "healthy-node:2" }, "another node claimed it once the lease ran out: \((try? owner()) ?? "?")")
        #expect(try postgres.psql(cluster.store, "SELECT attempts FROM async_call WHERE id = 'cut-1'") == "2")
        try Self.shell("ip link set \(outside) up")

        #expect(Self.waitFor(30) { cut.output.contains("outcome not recorded") }, "the cut-off node's late outcome is refused:\n\(cut.output)")
        #expect(Self.waitFor(30) { (try? postgres.psql(cluster.store, "SELECT count(*) FROM async_call")) == "0" }, "the other node's run finished the call")
        #expect(!healthy.output.contains("outcome not recorded"), "the current claim's outcome was recorded:\n\(healthy.output)")
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    @discardableResult
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureError("\(command): \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
