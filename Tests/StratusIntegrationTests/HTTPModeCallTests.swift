import Foundation
import StratusTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Calls to http-mode functions over real connections, as the gateway carries most of them on its
/// event loop (small bodies, a ready replica): HTTP/1.0 servers that close after each answer,
/// the call limit on separate connections, and pipelined requests answered in order.
@Suite(.serialized) struct HTTPModeCallTests {
    /// The function's server: HTTP/1.0 (it closes after each answer) unless `KEEP_ALIVE` is set;
    /// `hold` waits 3 s, `big` answers 8 MiB, anything else is echoed. `GET /stale` is answered on
    /// a connection's first request only: later ones find the connection closed, as if the server
    /// had timed it out just as the request came.
    static let server = """
        import http.server, os, time

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if os.environ.get("KEEP_ALIVE") else "HTTP/1.0"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if body == b"hold":
                    time.sleep(3)
                answer = b"x" * (8 << 20) if body == b"big" else b"echo:" + body
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self):
                self.served = getattr(self, "served", 0) + 1
                if self.path == "/stale" and self.served > 1:
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"fresh")

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
        """

    func deploy(_ server: ServerProcess, _ name: String, _ extra: [String] = []) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-httpcalls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(Self.server.utf8).write(to: folder.appendingPathComponent("server.py"))
        let bundle = folder.appendingPathComponent("b.tar.gz")
        #expect(HardeningTests.run("/bin/tar", ["-czf", bundle.path, "-C", folder.path, "server.py"]) == 0)
        let deployed = try StratusBinary.run(["deploy", "--name", name, "--artifact", bundle.path, "--fprocess", "python3 server.py",
                                              "--env", "mode=http", "--gateway", server.url] + extra,
                                             environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
    }

    @Test func anHTTP10ServerThatClosesAfterEachAnswerIsCalledAgainAndAgain() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, "old")
        for index in 0..<20 {
            let answer = try Curl.request("\(server.url)/function/old", body: "n\(index)")
            #expect(answer.status == 200 && answer.body == "echo:n\(index)", "call \(index): \(answer)")
        }
    }

    /// A kept-alive connection the replica closes as a request goes out on it: an idempotent request
    /// is sent again on a new connection instead of failing with 502.
    @Test func aGETOnAConnectionTheReplicaJustClosedIsSentAgain() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, "stale", ["--env", "KEEP_ALIVE=1"])
        // Calls land on either event loop; by the third on one, it has a kept-alive connection to reuse.
        for index in 0..<8 {
            let answer = try Curl.request("\(server.url)/function/stale/stale", method: "GET", body: "")
            #expect(answer.status == 200 && answer.body == "fresh", "call \(index): \(answer)")
        }
    }

    /// A caller slower than the function pauses reading from the replica; the kept-alive connection
    /// then serves the next calls as usual.
    @Test func aSlowCallerDoesNotLeaveTheReplicaConnectionPaused() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, "big", ["--env", "KEEP_ALIVE=1"])
        let slow = try Curl.run(["-o", "/dev/null", "-w", "%{http_code} %{size_download}", "--limit-rate", "4M", "--max-time", "60",
                                 "--data-binary", "big", "\(server.url)/function/big"])
        #expect(slow == "200 8388608", "\(slow)")
        for index in 0..<6 {
            let answer = try Curl.run(["--max-time", "10", "--data-binary", "n\(index)", "\(server.url)/function/big"])
            #expect(answer == "echo:n\(index)", "call \(index) after the slow one: \(answer)")
        }
    }

    @Test func theCallLimitHoldsOnSeparateConnections() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, "single", ["--env", "max_inflight=1", "--annotation", "com.stratus.queue-wait=0"])
        let holding = try Curl.start(["-w", " %{http_code}", "--data-binary", "hold", "\(server.url)/function/single"])
        // Once the held call has started (the metrics count it), the next one finds the only slot taken.
        var looks = 0
        while looks < 200, !(try Curl.run(["\(server.url)/metrics"])).contains(#"gateway_function_invocation_started{function_name="single"} 1"#) {
            looks += 1
            usleep(10_000)
        }
        #expect(try Curl.status(["--data-binary", "x", "\(server.url)/function/single"]) == 429, "a second call while the only slot is held gets 429")
        #expect(holding.output() == "echo:hold 200")
        #expect(try Curl.request("\(server.url)/function/single", body: "after").body == "echo:after")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        try deploy(server, "echo")
        #expect(try Curl.request("\(server.url)/function/echo", body: "warm").body == "echo:warm")
        // Three requests in one write: a direct call, one for the router, another direct call.
        func post(_ body: String) -> String {
            "POST /function/echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        let requests = post("first") + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post("third") .replacingOccurrences(of: "Host: x\r\n", with: "Host: x\r\nConnection: close\r\n")
        let answer = try HardeningTests().raw(server, Array(requests.utf8))
        let first = answer.range(of: "echo:first"), health = answer.range(of: "\r\n\r\nOK"), third = answer.range(of: "echo:third")
        #expect(first != nil && health != nil && third != nil, "\(answer)")
        if let first, let health, let third {
            #expect(first.upperBound <= health.lowerBound && health.upperBound <= third.lowerBound, "answers out of order:\n\(answer)")
        }
    }
}
