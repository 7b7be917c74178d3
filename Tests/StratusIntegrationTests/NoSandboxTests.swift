import Foundation
import StratusTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A host without bubblewrap (hidden from the server in a mount namespace of its own): process
/// functions still run as the function user, from a data directory it could not reach; and a
/// process function that needs secrets, which only the sandbox can show privately, is refused at
/// deploy instead of failing every call.
@Suite(.serialized, .enabled(if: ServerProcess.canHideBubblewrap, "hiding bubblewrap takes root and unshare"))
struct NoSandboxTests {
    func cli(_ server: ServerProcess, _ arguments: [String]) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    @Test func classicFunctionsRunFromADataDirectoryUnderAPrivateHome() throws {
        // Like root's ~/.stratus: the data directory's parent lets no one else in.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer {
            try? FileManager.default.removeItem(at: home)
            // Where the server unpacked the bundles instead (see Gateway.init).
            try? FileManager.default.removeItem(atPath: "/var/lib/stratus/bundles" + home.standardizedFileURL.path)
        }
        let server = try ServerProcess(dataDirectory: home.appendingPathComponent(".stratus"), withoutBubblewrap: true)
        defer { server.destroy() }
        #expect(server.output.contains("bubblewrap (bwrap) is not available"), "the server says it has no sandbox:\n\(server.output)")
        // The seed's pycon: the python3 template, as `stratus new` and `stratus build` make it.
        let project = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-pycon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: project) }
        #expect(try StratusBinary.run(["new", "pycon", "--lang", "python3"], in: project).status == 0)
        #expect(try StratusBinary.run(["build", "-f", "stack.yml"], in: project).status == 0)
        let code = project.appendingPathComponent("build/pycon/bundle.tar.gz")
        let deployed = try cli(server, ["deploy", "--name", "pycon", "--artifact", code.path, "--fprocess", "python3 index.py"])
        #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
        let answer = try Curl.request("\(server.url)/function/pycon", body: "Hi")
        #expect(answer.status == 200, "\(answer)")
        #expect(try cli(server, ["logs", "pycon"]).stdout.contains("exit status") == false)
    }

    /// Without the sandbox's `--die-with-parent`, replicas get a parent-death signal: a server killed
    /// outright (a crash, the OOM killer) leaves no replica running.
    @Test func replicasDoNotOutliveAServerKilledOutright() throws {
        let server = try ServerProcess(withoutBubblewrap: true)
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "cat", "--fprocess", "cat"]).status == 0)
        let http = try cli(server, ["deploy", "--name", "web", "--fprocess", "sh -c 'exec python3 -m http.server $PORT --bind 127.0.0.1'",
                                    "--env", "mode=http"])
        #expect(http.status == 0, "\(http.stdout)\(http.stderr)")
        #expect(try Curl.request("\(server.url)/function/cat", body: "Hi").body == "Hi")
        #expect(try Curl.request("\(server.url)/function/web", method: "GET", body: "").status == 200)
        let replicas = Self.descendants(of: server.processIdentifier)
        #expect(replicas.count >= 2, "a launcher and an http-mode replica: \(replicas)")
        server.killHard()
        var alive = replicas
        for _ in 0..<100 where !alive.isEmpty {
            alive = alive.filter(Self.isRunning)
            if !alive.isEmpty { usleep(50_000) }
        }
        #expect(alive.isEmpty, "replicas still running after the server was killed: \(alive)")
        for pid in alive { kill(pid, SIGKILL) }
    }

    /// Every process below `pid` (from /proc's parent ids).
    static func descendants(of pid: pid_t) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[child] = parent }
        }
        var found: [pid_t] = []
        var queue = [pid]
        while let next = queue.popLast() {
            for (child, parent) in parents where parent == next {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }

    /// Whether `pid` is a process that has not exited (a zombie waiting to be reaped has).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }

    @Test func processFunctionsWithSecretsAreRefusedAtDeploy() throws {
        let server = try ServerProcess(withoutBubblewrap: true)
        defer { server.destroy() }
        let created = try StratusBinary.run(["secret", "create", "token", "--from-literal", "s3cret", "--gateway", server.url],
                                            environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(created.status == 0, "\(created.stderr)")
        func deploy(_ json: String) throws -> (status: Int, head: String, body: String) {
            try Curl.request("\(server.url)/system/functions", body: json,
                             headers: ["Content-Type: application/json", "Authorization: Basic " + Data("admin:\(server.password ?? "")".utf8).base64EncodedString()])
        }
        let refused = try deploy(#"{"service": "needs", "image": "cat", "envProcess": "cat", "secrets": ["token"]}"#)
        #expect(refused.status == 400 && refused.body.contains("bubblewrap") && refused.body.contains("token"), "\(refused)")
        #expect(try Curl.status(["-X", "POST", "\(server.url)/function/needs"]) == 404, "nothing was deployed")
        // Without secrets the same function deploys and answers; a Wasm function keeps its secrets (they are in memory).
        #expect(try deploy(#"{"service": "needs", "image": "cat", "envProcess": "cat"}"#).status == 202)
        #expect(try Curl.request("\(server.url)/function/needs", body: "ok").body == "ok")
        #expect(try cli(server, ["deploy", "--name", "wasm", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        let wasm = try deploy(#"{"service": "wasm", "image": "wasm:latest", "secrets": ["token"]}"#)
        #expect(wasm.status == 202, "\(wasm)")
    }
}
