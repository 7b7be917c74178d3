import Foundation
import StratusTestSupport
import Testing

/// `stratus serve` as a real process on a free port, driven by the real CLI, as a user would.
@Suite(.serialized) struct ServeAndCLITests {
    func cli(_ server: ServerProcess, _ arguments: [String], stdin: String = "", home: URL? = nil, in directory: URL? = nil) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], in: directory,
                              environment: ["STRATUS_HOME": (home ?? server.dataDirectory).path], stdin: stdin)
    }

    @Test func deployInvokeListDescribeRemove() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        #expect(server.output.contains("password:"), "first start prints the generated credentials")
        let wasm = try WasmFixtures.path("echo").path
        let deploy = try cli(server, ["deploy", "--name", "echo", "--wasm", wasm, "--env", "A=1"])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        #expect(deploy.stdout.contains("Deployed echo"))

        let invoke = try cli(server, ["invoke", "echo"], stdin: "Hi from the CLI")
        #expect(invoke.status == 0)
        #expect(invoke.stdout == "Hi from the CLI")

        let list = try cli(server, ["list", "-v"])
        #expect(list.stdout.contains("echo"))
        #expect(list.stdout.contains("echo:latest"))
        let json = try cli(server, ["list", "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(entries?.first?["name"] as? String == "echo")
        #expect(entries?.first?["invocationCount"] as? Double == 1)

        let describe = try cli(server, ["describe", "echo"])
        #expect(describe.stdout.contains("Ready"))
        #expect(describe.stdout.contains("A=1"))

        let remove = try cli(server, ["remove", "echo"])
        #expect(remove.status == 0)
        let gone = try cli(server, ["invoke", "echo"], stdin: "x")
        #expect(gone.status != 0)
        #expect(gone.stderr.contains("404"))
        let describeGone = try cli(server, ["describe", "echo"])
        #expect(describeGone.status != 0)
    }

    @Test func functionsSurviveARestartOfTheServer() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try ServerProcess(dataDirectory: directory)
        let deploy = try cli(first, ["deploy", "--name", "keeper", "--wasm", try WasmFixtures.path("echo").path])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        #expect(first.stop() == 0, "SIGTERM shuts down cleanly")

        let second = try ServerProcess(dataDirectory: directory)
        defer { second.stop() }
        #expect(!second.output.contains("password:"), "credentials are generated once")
        let invoke = try cli(second, ["invoke", "keeper"], stdin: "after restart")
        #expect(invoke.stdout == "after restart")
    }

    @Test func wrongCredentialsAreRejected() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }

        let anonymous = try cli(server, ["list"], home: home)
        #expect(anonymous.status != 0)
        #expect(anonymous.stderr.contains("401"))

        let wrong = try cli(server, ["login", "--password-stdin"], stdin: "not-the-password", home: home)
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("rejected"))

        let right = try cli(server, ["login", "--password-stdin"], stdin: server.password ?? "", home: home)
        #expect(right.status == 0, "\(right.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("auth.json").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try cli(server, ["list"], home: home).status == 0)

        #expect(try cli(server, ["logout"], home: home).status == 0)
        #expect(try cli(server, ["list"], home: home).status != 0)
    }

    /// A gateway that is not running is reported as such, with the hint to start it (at once: the CLI's
    /// HTTP client does not retry a refused connection for its connect timeout, as the shared one did for 90 s).
    @Test func aGatewayThatIsNotRunningIsReported() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        server.stop()
        for arguments in [["list"], ["logs", "echo", "--follow"], ["login", "--password-stdin"]] {
            let failed = try cli(server, arguments, stdin: "x")
            #expect(failed.status != 0 && failed.stderr.contains("cannot reach the gateway at \(server.url)")
                    && failed.stderr.contains("Is `stratus serve` running?"), "\(arguments): \(failed.stderr)")
        }
    }

    @Test func inFlightCallsFinishWhenTheServerIsStopped() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let deploy = try cli(server, ["deploy", "--name", "slow", "--wasm", try WasmFixtures.path("slow").path])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let result = LockedResult()
        let caller = Thread {
            result.set(try? StratusBinary.run(["invoke", "slow", "--gateway", server.url], stdin: ""))
        }
        caller.start()
        usleep(1_000_000)  // the call (2 s of guest work) is in flight by now, even on a slow machine
        #expect(server.stop() == 0)
        while !result.isSet { usleep(10_000) }
        #expect(result.value?.stdout == "done", "the call in flight got its answer: \(String(describing: result.value))")
    }

    @Test func aCorruptCredentialsFileStopsTheServerInsteadOfBeingReplaced() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-creds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("credentials")
        try Data("not json".utf8).write(to: file)
        do {
            let server = try ServerProcess(dataDirectory: directory)
            server.stop()
            Issue.record("the server must not start with unreadable credentials")
        } catch {
            #expect("\(error)".contains("not a valid credentials file"), "\(error)")
        }
        #expect(try String(contentsOf: file, encoding: .utf8) == "not json", "the file is left for the user to fix")
    }

    @Test func anUnknownFunctionUserStopsTheServerWithAClearMessage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-user-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let server = try ServerProcess(dataDirectory: directory, arguments: ["--function-user", "no-such-user-here"])
            server.stop()
            Issue.record("the server must not start with a user it cannot run functions as")
        } catch {
            #expect("\(error)".contains("--function-user"), "\(error)")
            #expect("\(error)".contains("no user 'no-such-user-here'"), "\(error)")
        }
    }

    @Test func inferenceSettingsAreCheckedAndUsed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-ort-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let server = try ServerProcess(dataDirectory: directory, arguments: ["--inference-threads", "-3"])
            server.stop()
            Issue.record("a negative thread count must be refused")
        } catch {
            #expect("\(error)".contains("--inference-threads"), "\(error)")
        }
        let server = try ServerProcess(dataDirectory: directory, arguments: ["--inference-threads", "2", "--inference-spinning"])
        defer { server.destroy() }
        if FileManager.default.fileExists(atPath: WasmFixtures.repositoryRoot.appendingPathComponent(".cache/onnxruntime/lib/libonnxruntime.so").path) {
            #expect(server.output.contains("spinning=true") && server.output.contains("threads=2"), "\(server.output)")
        }
    }

    /// A followed log ends at the follow timeout (as OpenFaaS's gateway ends one) and when its
    /// function is removed, instead of staying open for good.
    @Test func followedLogsEndAtTheirTimeoutAndWhenTheFunctionGoes() throws {
        func follow(_ server: ServerProcess, _ name: String) throws -> Curl.Running {
            try Curl.start(["-N", "-w", "%{http_code}", "--max-time", "60", "-u", "admin:\(server.password ?? "")",
                            "\(server.url)/system/logs?name=\(name)&follow=true&tail=0"])
        }
        let short = try ServerProcess(arguments: ["--log-follow-timeout", "2s"])
        defer { short.destroy() }
        #expect(try cli(short, ["deploy", "--name", "noisy", "--wasm", try WasmFixtures.path("stderr").path]).status == 0)
        #expect(try follow(short, "noisy").output() == "200", "the follow ended by itself, with its answer complete")

        let long = try ServerProcess(arguments: ["--log-follow-timeout", "10m"])
        defer { long.destroy() }
        #expect(try cli(long, ["deploy", "--name", "gone", "--wasm", try WasmFixtures.path("stderr").path]).status == 0)
        let following = try follow(long, "gone")
        usleep(500_000)
        let removed = try cli(long, ["remove", "gone"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(following.output() == "200", "removing the function ended its follower")

        let bad = try StratusBinary.run(["serve", "--log-follow-timeout", "soon", "--data-dir", short.dataDirectory.path])
        #expect(bad.status != 0 && bad.stderr.contains("--log-follow-timeout"), "\(bad.stderr)")
    }

    /// `GET /system/info` and `stratus version` name the commit the binary was built from.
    @Test func infoAndVersionReportTheCommitBuiltFrom() throws {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        git.arguments = ["-C", WasmFixtures.repositoryRoot.path, "rev-parse", "HEAD"]
        let out = Pipe()
        git.standardOutput = out
        try git.run()
        let head = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        git.waitUntilExit()
        try #require(git.terminationStatus == 0 && head.count == 40, "the tests run in a git checkout")
        let server = try ServerProcess()
        defer { server.destroy() }
        let info = try Curl.run(["-u", "admin:\(server.password ?? "")", "\(server.url)/system/info"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.utf8)) as? [String: Any], "\(info)")
        let version = object["version"] as? [String: Any]
        #expect(version?["sha"] as? String == head, "\(info)")
        #expect((version?["release"] as? String)?.isEmpty == false)
        let shown = try cli(server, ["version"]).stdout
        #expect(shown.components(separatedBy: head).count == 3, "the client's and the gateway's commit: \(shown)")
    }

    @Test func logsFollowNewLinesLive() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "noisy", "--wasm", try WasmFixtures.path("stderr").path]).status == 0)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: StratusBinary.path)
        follower.arguments = ["logs", "noisy", "--follow", "--gateway", server.url]
        follower.environment = ProcessInfo.processInfo.environment.merging(["STRATUS_HOME": server.dataDirectory.path]) { _, new in new }
        let output = Pipe()
        follower.standardOutput = output
        let seen = LockedText()
        output.fileHandleForReading.readabilityHandler = { seen.append($0.availableData) }
        try follower.run()
        defer { follower.terminate() }
        usleep(500_000)
        _ = try cli(server, ["invoke", "noisy"])
        let deadline = Date().addingTimeInterval(20)
        while !seen.text.contains("log line"), Date() < deadline { usleep(50_000) }
        #expect(seen.text.contains("noisy (wasm) log line"), "follow printed: \(seen.text)")
        let tail = try cli(server, ["logs", "noisy", "--tail", "5"])
        #expect(tail.stdout.contains("log line"))
        #expect(server.stop(timeout: 20) == 0, "an open --follow stream does not keep the server from stopping")
        let followerDeadline = Date().addingTimeInterval(10)
        while follower.isRunning, Date() < followerDeadline { usleep(20_000) }
        #expect(!follower.isRunning, "the follower ends when the server stops")
    }

    @Test func secretsThroughTheCLI() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let file = server.dataDirectory.appendingPathComponent("value.bin")
        try Data([0, 1, 2, 255]).write(to: file)
        #expect(try cli(server, ["secret", "create", "db-password", "--from-literal", "hunter2"]).status == 0)
        #expect(try cli(server, ["secret", "create", "cert", "--from-file", file.path]).status == 0)
        let duplicate = try cli(server, ["secret", "create", "cert", "--from-literal", "x"])
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("409"))
        let list = try cli(server, ["secret", "list"])
        #expect(list.stdout.contains("db-password") && list.stdout.contains("cert"))
        #expect(!list.stdout.contains("hunter2"))
        #expect(try cli(server, ["secret", "update", "cert", "--from-literal", "y"]).status == 0)
        #expect(try cli(server, ["secret", "remove", "cert"]).status == 0)
        #expect(try cli(server, ["secret", "create", "x"]).status != 0, "a value is required")
        #expect(!server.output.contains("hunter2"), "values never reach the server log")
    }

    @Test func namespacesThroughTheCLI() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let wasm = try WasmFixtures.path("readfile").path
        let refused = try cli(server, ["deploy", "--name", "reader", "--wasm", wasm, "--namespace", "staging"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("stratus namespace create staging"), "\(refused.stderr)")
        #expect(try cli(server, ["namespace", "create", "staging", "--label", "team=web"]).status == 0)
        #expect(try cli(server, ["namespace", "list"]).stdout.contains("staging"))
        let shown = try cli(server, ["namespace", "get", "staging"])
        #expect(shown.stdout.contains("team=web") && shown.stdout.contains("openfaas=1"))

        #expect(try cli(server, ["secret", "create", "token", "--namespace", "staging", "--from-literal", "staged"]).status == 0)
        #expect(try cli(server, ["secret", "list", "-n", "staging"]).stdout.contains("token"))
        #expect(!(try cli(server, ["secret", "list"]).stdout.contains("token")))
        let deployed = try cli(server, ["deploy", "--name", "reader", "--wasm", wasm, "-n", "staging", "--env", "A=1"])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(deployed.stdout.contains("/function/reader.staging"))
        #expect(try cli(server, ["invoke", "reader.staging"], stdin: "/etc/hostname").status == 0)
        // A stack's `namespace:` deploys there, and its function reads that namespace's secret.
        let stack = server.dataDirectory.appendingPathComponent("stack.yml")
        try """
            version: 1.0
            provider: {name: openfaas}
            functions:
              tokens:
                namespace: staging
                fprocess: cat /var/openfaas/secrets/token
                secrets: [token]
            """.write(to: stack, atomically: true, encoding: .utf8)
        let stacked = try cli(server, ["deploy", "-f", stack.path])
        #expect(stacked.status == 0, "\(stacked.stderr)")
        #expect(try cli(server, ["invoke", "tokens.staging"]).stdout == "staged")

        #expect(try cli(server, ["list", "-n", "staging"]).stdout.contains("reader"))
        #expect(!(try cli(server, ["list"]).stdout.contains("reader")))
        #expect(try cli(server, ["describe", "reader.staging"]).stdout.contains("A=1"))
        let busy = try cli(server, ["namespace", "remove", "staging"])
        #expect(busy.status != 0)
        #expect(busy.stderr.contains("409") && busy.stderr.contains("reader.staging"))
        #expect(try cli(server, ["remove", "reader.staging", "tokens.staging"]).status == 0)
        #expect(try cli(server, ["secret", "remove", "token", "-n", "staging"]).status == 0)
        #expect(try cli(server, ["namespace", "remove", "staging"]).status == 0)
        #expect(!(try cli(server, ["namespace", "list"]).stdout.contains("staging")))
    }

    @Test func sitesThroughTheCLI() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let folder = server.dataDirectory.appendingPathComponent("my-site")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("img"), withIntermediateDirectories: true)
        let noIndex = try cli(server, ["site", "deploy", "docs", folder.path])
        #expect(noIndex.status != 0 && noIndex.stderr.contains("has no index.html"), "\(noIndex.stderr)")
        try Data("<h1>Docs</h1>".utf8).write(to: folder.appendingPathComponent("index.html"))
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: folder.appendingPathComponent("img/logo.png"))
        try Data("hidden".utf8).write(to: folder.appendingPathComponent(".env"))

        let deploy = try cli(server, ["site", "deploy", "docs", folder.path])
        #expect(deploy.status == 0, "\(deploy.stderr)")
        #expect(deploy.stdout.contains("Deployed site docs (2 files): \(server.url)/sites/docs/"), "hidden files stay home: \(deploy.stdout)")
        #expect(try Self.fetch("\(server.url)/sites/docs/") == "<h1>Docs</h1> 200")
        #expect(try Self.fetch("\(server.url)/sites/docs/.env").hasSuffix(" 404"))
        let list = try cli(server, ["site", "list"])
        #expect(list.stdout.contains("docs") && list.stdout.contains("\(server.url)/sites/docs/"), "\(list.stdout)")
        #expect(try cli(server, ["site", "deploy", "Bad_Name", folder.path]).status != 0)
        #expect(try cli(server, ["site", "remove", "docs"]).stdout.contains("Removed site: docs"))
        let missing = try cli(server, ["site", "remove", "docs"])
        #expect(missing.status != 0 && missing.stderr.contains("404"), "\(missing.stderr)")
    }

    /// The body and status of a GET with curl: "BODY STATUS".
    static func fetch(_ url: String) throws -> String {
        try Curl.run(["-w", " %{http_code}", url])
    }

    @Test func helpExplainsTheCommands() throws {
        let help = try StratusBinary.run(["--help"])
        for command in ["serve", "new", "build", "deploy", "up", "invoke", "list", "describe", "remove", "scale", "logs", "secret", "site", "demo", "login", "logout", "version"] {
            #expect(help.stdout.contains(command), "\(command) missing from --help")
        }
        let serveHelp = try StratusBinary.run(["serve", "--help"])
        #expect(serveHelp.stdout.contains("--data-dir"))
        #expect(serveHelp.stdout.contains("--no-auth"))
        #expect(serveHelp.stdout.contains("--function-user"))
    }
}

/// Text appended by a pipe's reader thread.
final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}

/// A value set by one thread and awaited by another.
final class LockedResult: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: StratusBinary.Output?
    private var done = false
    func set(_ value: StratusBinary.Output?) { lock.withLock { stored = value; done = true } }
    var isSet: Bool { lock.withLock { done } }
    var value: StratusBinary.Output? { lock.withLock { stored } }
}
