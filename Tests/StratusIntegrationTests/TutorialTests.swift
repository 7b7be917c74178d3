import Foundation
import StratusTestSupport
import Testing

/// The README's tutorial and the stack-file workflow, end to end through the real binary.
@Suite(.serialized) struct TutorialTests {
    func workspace() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-tutorial-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    func cli(_ server: ServerProcess?, _ arguments: [String], in directory: URL, stdin: String = "") throws -> StratusBinary.Output {
        var environment = ["OPENFAAS_URL": "", "STRATUS_URL": ""]
        if let server {
            environment["STRATUS_HOME"] = server.dataDirectory.path
            environment["STRATUS_URL"] = server.url
        }
        return try StratusBinary.run(arguments, in: directory, environment: environment, stdin: stdin)
    }

    @Test(arguments: [("swift-wasm", "hello"), ("c-wasm", "hello-c"), ("python3", "hello-py"), ("python3-http", "hello-pyhttp"),
                      ("node", "hello-node"), ("bash", "hello-sh"), ("bootstrap", "hello-bootstrap"), ("scf-bootstrap", "hello-scf"),
                      ("swift-lambda", "hello-lambda")])
    func newUpAndCall(language: String, name: String) throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }

        let created = try cli(server, ["new", name, "--lang", language], in: directory)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("stack.yml").path))

        let up = try cli(server, ["up", "-f", "stack.yml"], in: directory)
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")

        let answer = try cli(server, ["invoke", name], in: directory, stdin: "Hi")
        #expect(answer.stdout.trimmingCharacters(in: .newlines) == "Hello! You said: Hi")

        let redeploy = try cli(server, ["up", "-f", "stack.yml"], in: directory)
        #expect(redeploy.stdout.contains("updated"), "deploying the same name twice updates it")
    }

    /// http-mode functions run replicas that `stratus scale` sets, that survive nothing of the server:
    /// stopping it stops them.
    @Test func httpModeReplicasScaleAndStopWithTheServer() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try cli(server, ["new", "replicated", "--lang", "node"], in: directory).status == 0)
        let up = try cli(server, ["up"], in: directory)
        #expect(up.status == 0, "\(up.stderr)")
        let scaled = try cli(server, ["scale", "replicated", "--replicas", "2"], in: directory)
        #expect(scaled.stdout.contains("Scaled replicated to 2 replicas"), "\(scaled.stderr)")
        var described = ""
        for _ in 0..<250 {
            described = try cli(server, ["describe", "replicated"], in: directory).stdout
            if described.contains("Available replicas:  2") { break }
            usleep(20_000)
        }
        #expect(described.contains("Available replicas:  2"), "\(described)")
        #expect(try cli(server, ["invoke", "replicated"], in: directory, stdin: "Hi").stdout.trimmingCharacters(in: .newlines) == "Hello! You said: Hi")
        // Many bodies over keep-alive connections (curl reuses them), eight at once: each body is read by
        // exactly one reader; the server once crashed here when an upload outlived its handler.
        let clients = try (0..<8).map { _ in try Curl.start(["--data", "Hi"] + Array(repeating: "\(server.url)/function/replicated", count: 100)) }
        var answered = 0
        for client in clients {
            answered += client.output().components(separatedBy: "Hello! You said: Hi").count - 1
        }
        #expect(answered == 800)
        #expect(server.isRunning)
        #expect(Self.processCount("node index.js") == 2)
        #expect(server.stop() == 0)
        var left = Self.processCount("node index.js")
        for _ in 0..<100 where left > 0 {
            usleep(50_000)
            left = Self.processCount("node index.js")
        }
        #expect(left == 0, "the replicas stop with the server")
    }

    /// Processes whose command line contains `text` exactly (run as root with bubblewrap, two wrappers each share it).
    /// The process ids below `root` (children, grandchildren…) whose command line ends with `text`.
    static func descendants(of root: Int32, running text: String) -> [Int32] {
        var parents: [Int32: Int32] = [:]
        var commands: [Int32: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            parents[pid] = Int32(fields.dropFirst().first ?? "") ?? 0
            let argv = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") ?? Data()
            commands[pid] = argv.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        }
        func below(_ pid: Int32) -> Bool {
            var current = parents[pid] ?? 0
            for _ in 0..<16 where current > 1 {
                if current == root { return true }
                current = parents[current] ?? 0
            }
            return false
        }
        return commands.compactMap { pid, command in
            command.hasSuffix(text) && !command.contains("setpriv") && !command.contains("prlimit") && !command.contains("bwrap") && below(pid) ? pid : nil
        }
    }

    /// `com.openfaas.scale.*`: replicas follow the load up and back down, to zero after idling, and the
    /// first call after that waits for a new replica instead of failing; a replica killed from outside
    /// is replaced while callers see at most a retryable error.
    @Test func httpModeAutoscalesToZeroAndBackAndReplacesAKilledReplica() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try cli(server, ["new", "elastic", "--lang", "python3-http"], in: directory).status == 0)
        try """
            import time


            def handle(event, context):
                if event.body == b"slow":
                    time.sleep(1.5)
                return {"statusCode": 200, "body": "done " + event.body.decode()}
            """.write(to: directory.appendingPathComponent("elastic/handler.py"), atomically: true, encoding: .utf8)
        let stack = directory.appendingPathComponent("stack.yml")
        var yaml = try String(contentsOf: stack, encoding: .utf8)
        yaml += """
                annotations:
                  com.openfaas.scale.target: "1"
                  com.openfaas.scale.zero: "true"
                  com.openfaas.scale.zero-duration: 3s
                  com.stratus.scale.down-delay: 1s

            """
        try yaml.write(to: stack, atomically: true, encoding: .utf8)
        let up = try cli(server, ["up"], in: directory)
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        func replicas() throws -> (desired: Int, available: Int) {
            let json = try cli(server, ["describe", "elastic", "--json"], in: directory).stdout
            let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
            return (object["replicas"] as? Int ?? -1, object["availableReplicas"] as? Int ?? -1)
        }
        func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return true }
                usleep(100_000)
            }
            return try condition()
        }
        #expect(try replicas().desired == 1)

        // Load: four slow calls at a time for a few seconds; the target is one call per replica.
        let load = try (0..<4).map { _ in try Curl.start(["--data", "slow"] + Array(repeating: "\(server.url)/function/elastic", count: 4)) }
        #expect(try waitFor(30) { try replicas().desired >= 2 }, "scaled up under load")
        let answers = load.map { $0.output() }.joined()
        #expect(answers.components(separatedBy: "done slow").count - 1 == 16, "every call under load answered")

        // Idle: back to one replica, then to zero.
        #expect(try waitFor(60) { try replicas() == (0, 0) }, "scaled to zero after idling")
        let logs = try cli(server, ["logs", "elastic"], in: directory).stdout
        // Down by load, then to zero after idling (from whatever count the load left: 1 or 2).
        #expect(logs.contains("scaled elastic from") && logs.contains("to 0 replicas"), "\(logs)")
        // The first call after idling waits for a replica and succeeds.
        #expect(try cli(server, ["invoke", "elastic"], in: directory, stdin: "again").stdout == "done again")
        #expect(try replicas().desired == 1)

        // A replica killed from outside: callers see 502/503 at worst, and a new replica takes over.
        let victims = Self.descendants(of: server.processIdentifier, running: "python3 index.py")
        #expect(victims.count == 1, "\(victims)")
        for pid in victims { kill(pid, SIGKILL) }
        var statuses: [String] = []
        for _ in 0..<200 {
            let answer = try cli(server, ["invoke", "elastic"], in: directory, stdin: "after")
            statuses.append(answer.status == 0 ? "ok" : answer.stderr)
            if answer.stdout == "done after" { break }
            usleep(50_000)
        }
        #expect(statuses.last == "ok", "\(statuses)")
        #expect(statuses.dropLast().allSatisfy { $0.contains("502") || $0.contains("503") }, "\(statuses)")
        #expect(Self.descendants(of: server.processIdentifier, running: "python3 index.py").count == 1)
    }

    static func processCount(_ text: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            // The interpreter itself, not the bwrap/setpriv/prlimit wrappers whose argv also names it.
            return arguments.count == 2 && arguments.joined(separator: " ").hasSuffix(text) && arguments[0].hasSuffix("node")
        }.count
    }

    /// The seed's OpenFaaS example, byte for byte: `lang: python3`, a handler that prints.
    @Test func seedPyconFunctionWorksVerbatim() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let stack = """
            version: 1.0
            provider:
              name: openfaas
              gateway: http://127.0.0.1:8080
            functions:
              pycon:
                lang: python3
                handler: ./pycon
                image: pycon:latest

            """
        try stack.write(to: directory.appendingPathComponent("stack.yml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("pycon"), withIntermediateDirectories: true)
        let handler = "def handle(req):\n    print(\"Hello! You said: \" + req)\n"
        try handler.write(to: directory.appendingPathComponent("pycon/handler.py"), atomically: true, encoding: .utf8)

        let up = try cli(server, ["up", "-f", "stack.yml"], in: directory)
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        let answer = try cli(server, ["invoke", "pycon"], in: directory, stdin: "Hi")
        #expect(answer.stdout == "Hello! You said: Hi\n")
    }

    @Test func malformedStackFilesNameTheFileAndLine() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = """
            version: 1.0
            provider:
              name: openfaas
            functions:
              hello:
                lang: swift-wasm
                handlr: ./hello
            """
        try bad.write(to: directory.appendingPathComponent("stack.yml"), atomically: true, encoding: .utf8)
        let result = try cli(nil, ["build", "-f", "stack.yml"], in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains("stack.yml:7"), "\(result.stderr)")
        #expect(result.stderr.contains("handlr"))

        try "version: 1.0\nfunctions: [unclosed\n".write(to: directory.appendingPathComponent("broken.yml"), atomically: true, encoding: .utf8)
        let broken = try cli(nil, ["deploy", "-f", "broken.yml"], in: directory)
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("broken.yml"), "\(broken.stderr)")

        let missing = try cli(nil, ["up", "-f", "nope.yml"], in: directory)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.yml"))
    }

    @Test func compilerErrorsAreReported() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try cli(nil, ["new", "broken", "--lang", "swift-wasm"], in: directory).status == 0)
        let handler = directory.appendingPathComponent("broken/handler.swift")
        try "func handle(_ request: Request) -> Response {\n    this is not swift\n}\n".write(to: handler, atomically: true, encoding: .utf8)
        let build = try cli(nil, ["build"], in: directory)
        #expect(build.status != 0)
        #expect(build.stderr.contains("handler.swift:2"), "\(build.stderr)")
    }

    @Test func newRefusesBadNamesAndLanguages() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try cli(nil, ["new", "Bad_Name", "--lang", "swift-wasm"], in: directory).status != 0)
        let unknown = try cli(nil, ["new", "ok", "--lang", "cobol"], in: directory)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("swift-wasm"))
        #expect(try cli(nil, ["new", "twice", "--lang", "c-wasm"], in: directory).status == 0)
        #expect(try cli(nil, ["new", "twice", "--lang", "c-wasm"], in: directory).status != 0)
    }
}
