import Foundation
@testable import StratusWasm
import StratusTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The server under hostile requests, load, crashes and a full disk: it answers clearly, keeps
/// serving, and loses nothing it acknowledged.
@Suite(.serialized) struct HardeningTests {
    func cli(_ server: ServerProcess, _ arguments: [String]) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    /// Sends raw bytes to the server and returns what it answered before closing (or a timeout).
    func raw(_ server: ServerProcess, _ request: [UInt8]) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(server.port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw FixtureError("cannot connect") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    func status(_ url: String, method: String = "GET", body: String? = nil, auth: String? = nil) throws -> Int {
        var arguments = ["-X", method, url]
        if let body { arguments += ["--data-binary", body, "-H", "Content-Type: application/json"] }
        if let auth { arguments += ["-u", auth] }
        return try Curl.status(arguments)
    }

    /// Request smuggling and oversized heads are refused; names that try to leave their folder are
    /// refused everywhere; the server keeps serving.
    @Test func hostileRequestsAreRefused() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let auth = "admin:\(server.password ?? "")"
        #expect(try cli(server, ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)

        // Content-Length and Transfer-Encoding together (the classic smuggling vector): 400, and the
        // request hidden in the body never runs as a second request.
        let smuggled = "POST /function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            + "GET /system/functions HTTP/1.1\r\nHost: x\r\n\r\n"
        let answer = try raw(server, Array(smuggled.utf8))
        #expect(answer.hasPrefix("HTTP/1.1 400") || answer.isEmpty, "\(answer.prefix(200))")
        #expect(!answer.contains("\"name\""), "the smuggled request must not be answered: \(answer)")
        // A head of 1 MiB of headers: refused (431/400) or the connection closed, not buffered forever.
        let huge = "GET /healthz HTTP/1.1\r\nHost: x\r\n" + (0..<2048).map { "X-Pad-\($0): \(String(repeating: "a", count: 500))\r\n" }.joined() + "\r\n"
        let refused = try raw(server, Array(huge.utf8))
        #expect(refused.isEmpty || refused.hasPrefix("HTTP/1.1 4"), "\(refused.prefix(200))")
        // Obsolete line folding and a bad request line: 400 or closed.
        let folded = try raw(server, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n".utf8))
        #expect(folded.isEmpty || folded.hasPrefix("HTTP/1.1 400"), "\(folded.prefix(200))")
        let garbage = try raw(server, Array("\u{0}\u{1}GARBAGE / HTTP/9.9\r\n\r\n".utf8))
        #expect(garbage.isEmpty || garbage.hasPrefix("HTTP/1.1 400"), "\(garbage.prefix(200))")

        // Traversal in every kind of name: refused or not found, never a file outside.
        for path in ["/function/..%2F..%2Fetc%2Fpasswd", "/function/%2e%2e", "/async-function/..%2Fx", "/sites/..%2Fcredentials/",
                     "/sites/x/..%2F..%2Fcredentials"] {
            let code = try status(server.url + path, method: path.hasPrefix("/async") ? "POST" : "GET")
            #expect([400, 404].contains(code), "\(path): \(code)")
        }
        let deploy = #"{"service": "../escape", "image": "echo:latest"}"#
        #expect(try status(server.url + "/system/functions", method: "POST", body: deploy, auth: auth) == 400)
        for path in ["/system/layers/..%2Fx", "/system/layers/x/..%2F1", "/system/queue/..%2F..%2Fstratus.db", "/system/function/..%2Fx",
                     "/system/logs?name=..%2F..%2Fx", "/system/sites/..%2Fx"] {
            let code = try status(server.url + path, method: path.hasPrefix("/system/layers/x") ? "DELETE" : "GET", auth: auth)
            #expect([400, 404].contains(code), "\(path): \(code)")
        }
        #expect(try status(server.url + "/system/layers/..%2Fx", method: "POST", body: "x", auth: auth) == 400)
        #expect(try status(server.url + "/healthz") == 200, "the server keeps serving")
        // Secret values never reach the server's log, nor does a wrong password someone tried.
        let value = "value-\(UUID().uuidString)"
        #expect(try cli(server, ["secret", "create", "api-key", "--from-literal", value]).status == 0)
        #expect(try cli(server, ["secret", "update", "api-key", "--from-literal", value + "-2"]).status == 0)
        #expect(try status(server.url + "/system/functions", auth: "admin:guess-\(value)") == 401)
        usleep(300_000)
        #expect(!server.output.contains(value), "a secret value or tried password reached the log")
        // The generated password is shown once, when it is made; never again (not for a request that carries it).
        #expect(server.output.components(separatedBy: server.password ?? "no password").count == 2, "the password is logged only at generation")
    }

    /// Mixed load on loopback: sync and async calls while a function is deployed and removed over
    /// and over. Only the expected codes come back, every async call completes, memory stays bounded.
    @Test func soakMixedLoadWithChurn() throws {
        let server = try ServerProcess(arguments: ["--log-level", "warning"])
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        let script = WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Support/soak.py")
        let soak = Process()
        soak.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        soak.arguments = [script.path, server.url, "admin:\(server.password ?? "")", try WasmFixtures.path("echo").path, "20", "4000"]
        let output = Pipe()
        soak.standardOutput = output
        try soak.run()
        var peak = 0
        while soak.isRunning {
            peak = max(peak, Self.residentKiB(server.processIdentifier))
            usleep(100_000)
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        print("soak: \(text.trimmingCharacters(in: .whitespacesAndNewlines)), peak RSS \(peak / 1024) MiB")
        let unexpected = report["unexpected"] as? [String: Int] ?? [:]
        #expect(unexpected.isEmpty, "unexpected answers: \(unexpected)")
        #expect((report["sync_ok"] as? Int ?? 0) > 500, "\(report)")
        #expect(report["async_accepted"] as? Int == report["async_completed"] as? Int, "every accepted async call completes: \(report)")
        #expect((report["deploys"] as? Int ?? 0) > 10, "\(report)")
        #expect(peak < 1024 * 1024, "peak RSS \(peak / 1024) MiB")
        #expect(try status(server.url + "/healthz") == 200)
    }

    /// Found by fuzzing (the server kept a core busy after the fuzzer's async calls): the async
    /// dispatcher's cancelled timer sent a wake-up, so it looped without sleeping for good. An idle
    /// server uses (almost) no CPU, after async calls too.
    @Test func anIdleServerStaysIdleAfterAsyncCalls() throws {
        let server = try ServerProcess(arguments: ["--log-level", "warning"])
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        for _ in 0..<3 { #expect(try status(server.url + "/async-function/echo", method: "POST", body: "later") == 202) }
        for _ in 0..<200 {
            if try cli(server, ["queue", "list"]).stdout.contains("pending 0   running 0   delivering 0") { break }
            usleep(50_000)
        }
        usleep(500_000)
        let before = Self.cpuTicks(server.processIdentifier)
        sleep(3)
        let used = Self.cpuTicks(server.processIdentifier) - before
        // A busy loop burns ~100 ticks a second; an idle server a handful in all.
        #expect(used < 60, "an idle server used \(used) CPU ticks in 3 s")
    }

    /// utime + stime of a process, in clock ticks (1/100 s).
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    static func residentKiB(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// `kill -9` at random moments while functions, secrets and async calls are written: after a
    /// restart the store opens and everything that was acknowledged is there.
    @Test func killNineDuringWritesLosesNothingAcknowledged() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let module = try WasmFixtures.path("echo").path
        var acknowledged: (functions: [String], secrets: [String], calls: [String]) = ([], [], [])
        var generator = SystemRandomNumberGenerator()
        for round in 0..<3 {
            let server = try ServerProcess(dataDirectory: data, arguments: ["--log-level", "warning", "--queue-workers", "1"])
            if round == 0 {
                #expect(try cli(server, ["deploy", "--name", "echo", "--wasm", module]).status == 0)
                // Its async calls fail for good at once and stay in the dead-letter list: every one stays visible.
                #expect(try cli(server, ["deploy", "--name", "failing", "--wasm", try WasmFixtures.path("exit3").path,
                                         "--annotation", "com.openfaas.retry.attempts=1"]).status == 0)
            }
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            writer.arguments = [WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Support/writer.py").path, server.url,
                                "admin:\(server.password ?? "")", "r\(round)"]
            let output = Pipe()
            writer.standardOutput = output
            try writer.run()
            usleep(UInt32.random(in: 700_000...2_000_000, using: &generator))
            server.killHard()
            writer.waitUntilExit()
            let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            for line in lines {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "function": acknowledged.functions.append(parts[1])
                case "secret": acknowledged.secrets.append(parts[1])
                case "call": acknowledged.calls.append(parts[1])
                default: break
                }
            }
        }
        #expect(acknowledged.functions.count + acknowledged.secrets.count + acknowledged.calls.count > 10, "\(acknowledged)")
        let server = try ServerProcess(dataDirectory: data, arguments: ["--log-level", "warning"])
        defer { server.stop() }
        let functions = try cli(server, ["list"]).stdout
        for name in acknowledged.functions { #expect(functions.contains(name), "function \(name) was acknowledged, then lost") }
        let secrets = try cli(server, ["secret", "list"]).stdout
        for name in acknowledged.secrets { #expect(secrets.contains(name), "secret \(name) was acknowledged, then lost") }
        let listed = try cli(server, ["queue", "list", "--json", "--limit", "10000"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let listing = listed.stdout
        let missing = acknowledged.calls.filter { !listing.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.calls.count) acknowledged async calls lost, e.g. \(missing.prefix(3))")
        print("kill -9: \(acknowledged.functions.count) functions, \(acknowledged.secrets.count) secrets, \(acknowledged.calls.count) async calls acknowledged; all there after 3 kills")
    }

    /// The data directory on a tiny filesystem that fills up: uploads fail with a clear error, what
    /// was deployed keeps working, and the store is intact afterwards.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskGivesClearErrorsAndNoCorruption() throws {
        let mount = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mount) }
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mount.path]) == 0)
        defer { _ = Self.run("/bin/umount", ["-l", mount.path]) }
        let data = mount.appendingPathComponent("data")
        let server = try ServerProcess(dataDirectory: data, arguments: ["--log-level", "warning"])
        #expect(try cli(server, ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        #expect(try cli(server, ["secret", "create", "kept", "--from-literal", "yes"]).status == 0)
        // Fill the disk with uploads of 1 MiB modules (a custom section of random bytes) until one is refused.
        var refusal = ""
        for index in 0..<20 {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("fill-\(UUID().uuidString).wasm")
            defer { try? FileManager.default.removeItem(at: file) }
            var random = [UInt8](repeating: 0, count: 1024 * 1024)
            for i in random.indices { random[i] = UInt8.random(in: 0...255) }
            // A custom section keeps the module valid while making it large.
            let payload = [UInt8(7)] + Array("padding".utf8) + random
            var module = try WasmFixtures.bytes("echo")
            module += [0] + GlobalExporter.leb(UInt32(payload.count)) + payload
            try Data(module).write(to: file)
            let upload = try cli(server, ["deploy", "--name", "fill\(index)", "--wasm", file.path])
            if upload.status != 0 {
                refusal = upload.stderr
                break
            }
        }
        #expect(refusal.lowercased().contains("space") || refusal.lowercased().contains("full"), "a full disk is named: \(refusal)")
        #expect(try status(server.url + "/function/echo", method: "POST", body: "still here") == 200, "deployed functions keep working")
        server.stop()
        // The database is intact and opens again (with space freed).
        #expect(Self.run("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", data.appendingPathComponent("stratus.db").path, "PRAGMA integrity_check"]) == 0)
        let restarted = try ServerProcess(dataDirectory: data, arguments: ["--log-level", "warning"])
        defer { restarted.stop() }
        #expect(try cli(restarted, ["list"]).stdout.contains("echo"))
        #expect(try cli(restarted, ["secret", "list"]).stdout.contains("kept"))
    }

    /// `--tls-cert/--tls-key`: HTTPS only, with the given certificate; bad files stop the server with the reason.
    @Test func optionalTLS() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        #expect(Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                                              "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]) == 0)
        let server = try ServerProcess(arguments: ["--tls-cert", cert, "--tls-key", key])
        defer { server.destroy() }
        #expect(server.output.contains("listening on https://"))
        let https = "https://127.0.0.1:\(server.port)"
        #expect(try Curl.status(["--cacert", cert, https + "/healthz"]) == 200)
        #expect(try Curl.status(["--cacert", cert, "-u", "admin:\(server.password ?? "")", https + "/system/functions"]) == 200)
        #expect(try Curl.status(["--cacert", cert, "-u", "admin:wrong", https + "/system/functions"]) == 401)
        #expect(try Curl.status(["http://127.0.0.1:\(server.port)/healthz"]) == 0, "plain HTTP gets no answer from an HTTPS gateway")
        #expect(try Curl.status([https + "/healthz"]) == 0, "a client that does not trust the certificate is refused")

        // The CLI: refused with how to trust the certificate, then --tls-ca, $STRATUS_TLS_CA or --tls-no-verify work.
        func stratus(_ arguments: [String], _ environment: [String: String] = [:]) throws -> StratusBinary.Output {
            try StratusBinary.run(arguments + ["--gateway", https], environment: ["STRATUS_HOME": server.dataDirectory.path].merging(environment) { $1 })
        }
        let untrusted = try stratus(["list"])
        #expect(untrusted.status != 0 && untrusted.stderr.contains("certificate is not trusted") && untrusted.stderr.contains("--tls-ca"),
                "\(untrusted.stderr)")
        #expect(try stratus(["secret", "create", "tls", "--from-literal", "kept", "--tls-ca", cert]).status == 0)
        let listed = try stratus(["secret", "list", "--tls-ca", cert])
        #expect(listed.status == 0 && listed.stdout.contains("tls"), "\(listed.stderr)")
        #expect(try stratus(["secret", "list"], ["STRATUS_TLS_CA": cert]).stdout.contains("tls"))
        #expect(try stratus(["secret", "list", "--tls-no-verify"]).stdout.contains("tls"))
        let login = try StratusBinary.run(["login", "--gateway", https, "--password-stdin", "--tls-ca", cert],
                                          environment: ["HOME": folder.path, "STRATUS_HOME": folder.appendingPathComponent("home").path],
                                          stdin: server.password ?? "")
        #expect(login.status == 0 && login.stdout.contains("Credentials saved"), "\(login.stderr)")
        let unreadable = try stratus(["list", "--tls-ca", folder.appendingPathComponent("missing.pem").path])
        #expect(unreadable.status != 0 && unreadable.stderr.contains("not a readable PEM certificate file"), "\(unreadable.stderr)")
        let notACertificate = try stratus(["list", "--tls-ca", key])
        #expect(notACertificate.status != 0 && notACertificate.stderr.contains("--tls-ca"), "\(notACertificate.stderr)")
        let plainToTLS = try StratusBinary.run(["list", "--gateway", "http://127.0.0.1:\(server.port)"],
                                               environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(plainToTLS.status != 0 && plainToTLS.stderr.contains("cannot reach the gateway"), "\(plainToTLS.stderr)")

        for (arguments, reason) in [(["--tls-cert", cert], "go together"), (["--tls-cert", key, "--tls-key", key], "--tls-cert"),
                                    (["--tls-cert", cert, "--tls-key", cert], "--tls-key"), (["--max-response-size", "lots"], "--max-response-size")] {
            let failed = try StratusBinary.run(["serve", "--port", "0", "--data-dir", folder.appendingPathComponent("d").path] + arguments)
            #expect(failed.status != 0 && failed.stderr.contains(reason), "\(arguments): \(failed.stderr)")
        }
    }

    @discardableResult
    /// An update the store cannot save (a trigger makes SQLite refuse the write, as a full or broken
    /// disk would) answers 500 and leaves the old version serving, for a process function and an
    /// http-mode one; an update whose new version cannot start leaves it serving too.
    @Test func anUpdateThatCannotBeSavedOrStartedKeepsTheOldVersionServing() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let database = server.dataDirectory.appendingPathComponent("stratus.db").path
        let httpServer = #"python3 -c "import http.server,os; h=type('H',(http.server.BaseHTTPRequestHandler,),{'do_POST':lambda s:(s.send_response(200),s.send_header('Content-Length','2'),s.end_headers(),s.wfile.write(os.environ['V'].encode())),'log_message':lambda s,*a:None}); http.server.HTTPServer(('127.0.0.1',int(os.environ['PORT'])),h).serve_forever()""#
        for (name, extra) in [("classic", [String]()), ("web", ["--env", "mode=http", "--annotation", "com.stratus.ready-timeout=2s"])] {
            func deploy(_ version: String) throws -> StratusBinary.Output {
                let command = name == "classic" ? "printf \(version)" : httpServer
                return try cli(server, ["deploy", "--name", name, "--fprocess", command, "--env", "V=\(version)"] + extra)
            }
            func answer() throws -> String { try Curl.request("\(server.url)/function/\(name)", body: "x").body }
            #expect(try deploy("v1").status == 0)
            #expect(try answer() == "v1")

            #expect(Self.run("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", database, "CREATE TRIGGER refuse BEFORE INSERT ON function BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"]) == 0)
            let refused = try deploy("v2")
            #expect(refused.status != 0 && refused.stderr.contains("500"), "\(refused.stdout)\(refused.stderr)")
            #expect(try answer() == "v1", "\(name): the old version still serves after a failed save")
            #expect(Self.run("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", database, "DROP TRIGGER refuse;"]) == 0)

            #expect(try deploy("v3").status == 0)
            #expect(try answer() == "v3", "\(name): a saved update serves at once")
        }
        // A new http-mode version that never listens is refused; the one before keeps serving.
        let broken = try cli(server, ["deploy", "--name", "web", "--fprocess", "sleep 60", "--env", "mode=http",
                                      "--annotation", "com.stratus.ready-timeout=1s"])
        #expect(broken.status != 0 && broken.stderr.contains("did not accept connections"), "\(broken.stderr)")
        #expect(try Curl.request("\(server.url)/function/web", body: "x").body == "v3")
    }

    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
