import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import Testing

/// A small HTTP function server (standard library) that listens on $PORT, with paths that
/// misbehave on purpose.
let testServerSource = #"""
import os, sys, time
TOKEN = os.urandom(8).hex()  # tells processes apart (in the sandbox every one is pid 2)
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if path == "/crash":
            print("crashing on purpose", file=sys.stderr, flush=True)
            os._exit(3)
        if path == "/slow":
            time.sleep(5)
        if path == "/hold":
            time.sleep(20)
        if path == "/pid":
            return self.answer(200, TOKEN.encode())
        if path == "/big":
            # A streamed (chunked) answer of 8 MiB.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            for _ in range(128):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        seen = f"{self.command} {self.path} x-test={self.headers.get('X-Test')} call={bool(self.headers.get('X-Call-Id'))} body={body.decode()}"
        print("served " + self.path, flush=True)
        self.answer(201, seen.encode(), [("X-Function", "yes"), ("Content-Type", "text/x-test")])

    do_GET = do_POST = do_PUT = do_DELETE = do_any

    def log_message(self, *args):
        pass

print("starting on", os.environ["PORT"], file=sys.stderr, flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""#

/// http-mode process functions (of-watchdog `mode=http`): replicas, proxying, restarts, scaling.
@Suite struct HTTPModeTests {
    func deploy(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ json: String) async throws -> TestResponse {
        try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: json))
    }

    /// Uploads the test server as `name:latest` and deploys it in http mode with `annotations` and `env`
    /// (JSON members). Its ready timeout is a minute: a python3 start may wait long for a CPU while the
    /// whole test run starts at once; the timeout itself is tested with a function that never listens.
    func deployServer(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ name: String, annotations: String = "",
                      env: String = "") async throws {
        let bytes = try ProcessFunctionTests().bundle(["server.py": testServerSource])
        let upload = try await client.execute(uri: "/system/artifacts?name=\(name):latest", method: .post, headers: harness.auth, body: ByteBuffer(bytes: bytes))
        #expect(upload.status == .created)
        let response = try await deploy(client, harness, #"""
            {"service": "\#(name)", "image": "\#(name):latest", "envProcess": "python3 server.py", "envVars": {"mode": "http"\#(env)},
             "annotations": {"com.stratus.ready-timeout": "60s"\#(annotations)}}
            """#)
        #expect(response.status == .accepted, "\(String(buffer: response.body))")
    }

    func status(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ name: String) async throws -> FunctionStatus {
        let response = try await client.execute(uri: "/system/function/\(name)", method: .get, headers: harness.auth)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(FunctionStatus.self, from: Data(response.body.readableBytesView))
    }

    /// Polls until `condition` holds (replicas start in the background), at most ~10 s.
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<500 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Through the router, and over a live server (where small calls take the direct path).
    @Test(arguments: [false, true]) func proxiesMethodPathQueryHeadersAndStatusToAReplica(live: Bool) async throws {
        let harness = GatewayHarness(live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployServer(client, harness, "web")
            let response = try await client.execute(uri: "/function/web/items/7?x=1", method: .put, headers: [.init("X-Test")!: "abc"], body: ByteBuffer(string: "payload"))
            #expect(response.status == .created)
            #expect(String(buffer: response.body) == "PUT /items/7?x=1 x-test=abc call=True body=payload")
            #expect(response.headers[.init("X-Function")!] == "yes")
            #expect(response.headers[.contentType] == "text/x-test")
            #expect(response.headers[.init("X-Call-Id")!] != nil)
            let status = try await status(client, harness, "web")
            #expect(status.replicas == 1 && status.availableReplicas == 1)
            #expect(status.invocationCount == 1)
            let big = try await client.execute(uri: "/function/web/big", method: .get)
            #expect(big.status == .ok)
            #expect(big.body.readableBytes == 8 * 1024 * 1024, "a streamed answer arrives whole")
            // The replica's stdout and stderr and a line per call reach the function's log.
            var text = ""
            let logged = try await eventually {
                let logs = try await client.execute(uri: "/system/logs?name=web&tail=-1", method: .get, headers: harness.auth)
                text = String(buffer: logs.body)
                let unescaped = text.replacingOccurrences(of: "\\/", with: "/")
                return unescaped.contains("starting on") && unescaped.contains("served /items/7?x=1") && unescaped.contains("PUT /items/7 - 201 - ContentLength: 50B")
            }
            #expect(logged, "\(text)")
        }
    }

    /// Through the router, and over a live server (where small calls take the direct path).
    @Test(arguments: [false, true]) func aCrashAnswers502AndTheReplicaIsRestarted(live: Bool) async throws {
        let harness = GatewayHarness(live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployServer(client, harness, "fragile")
            let before = String(buffer: try await client.execute(uri: "/function/fragile/pid", method: .get).body)
            let crash = try await client.execute(uri: "/function/fragile/crash", method: .get)
            #expect(crash.status == .badGateway)
            #expect(String(buffer: crash.body).contains("exited while handling the request"), "\(String(buffer: crash.body))")
            // The next call waits for the restarted replica instead of failing.
            let after = try await client.execute(uri: "/function/fragile/pid", method: .get)
            #expect(after.status == .ok)
            #expect(String(buffer: after.body) != before, "a new process answers")
            let logs = String(buffer: try await client.execute(uri: "/system/logs?name=fragile&tail=-1", method: .get, headers: harness.auth).body)
            #expect(logs.contains("crashing on purpose"))
            #expect(logs.contains("replica exited with status 3; restarting"))
        }
    }

    @Test func aProcessThatNeverListensOrExitsAtOnceIsRefusedAtDeploy() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let silent = try await deploy(client, harness, #"""
                {"service": "silent", "image": "i", "envProcess": "sleep 60", "envVars": {"mode": "http"}, "annotations": {"com.stratus.ready-timeout": "1s"}}
                """#)
            #expect(silent.status == .badRequest)
            // Which message depends on how far the start got in its second (a loaded machine may not have spawned it yet).
            let reason = String(buffer: silent.body)
            #expect(reason.contains("did not accept connections on port") || reason.contains("no replica became ready within 1.0s"), "\(reason)")
            let quitter = try await deploy(client, harness, #"{"service": "quitter", "image": "i", "envProcess": "sh -c 'exit 4'", "envVars": {"mode": "http"}}"#)
            #expect(quitter.status == .badRequest)
            #expect(String(buffer: quitter.body).contains("exited with status 4 before it accepted connections"), "\(String(buffer: quitter.body))")
            let missing = try await client.execute(uri: "/system/function/silent", method: .get, headers: harness.auth)
            #expect(missing.status == .notFound, "a failed deploy leaves nothing behind")
            // The server is fine and serves the next function.
            try await deployServer(client, harness, "fine")
            #expect(try await client.execute(uri: "/function/fine/pid", method: .get).status == .ok)
        }
    }

    /// Through the router, and over a live server (where small calls take the direct path).
    @Test(arguments: [false, true]) func timeoutsAnswer504AndMaxInflightAnswers429(live: Bool) async throws {
        let harness = GatewayHarness(live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            // The default wait before 429 (0.5 s) covers the moment a finished call takes to hand its slot back;
            // 3 s is well under /slow's 5 s and leaves /pid room on a busy machine.
            try await deployServer(client, harness, "slowpoke", env: #", "exec_timeout": "3s", "max_inflight": "1""#)
            // Alone, a call that outruns exec_timeout answers 504.
            let timedOut = try await client.execute(uri: "/function/slowpoke/slow", method: .get)
            #expect(timedOut.status == .gatewayTimeout, "\(String(buffer: timedOut.body))")
            #expect(String(buffer: timedOut.body).contains("timed out after 3.0s"))
            let after = try await client.execute(uri: "/function/slowpoke/pid", method: .get)
            #expect(after.status == .ok, "\(after.status): \(String(buffer: after.body))")
            // While one call holds the only slot (max_inflight 1, no wait; /hold takes 20 s), the next one gets 429.
            // (The live test client has one connection, where the second call waits its turn: the
            // integration tests send that one on a connection of its own.)
            guard !live else { return }
            try await deployServer(client, harness, "busy", annotations: #", "com.stratus.queue-wait": "0""#,
                                   env: #", "exec_timeout": "30s", "max_inflight": "1""#)
            async let slow = client.execute(uri: "/function/busy/hold", method: .get)
            try await client.waitUntilStarted("busy", count: 1)
            let rejected = try await client.execute(uri: "/function/busy/pid", method: .get)
            #expect(rejected.status == .tooManyRequests)
            #expect(try await slow.status == .created)
        }
    }

    /// Through the router, and over a live server (where small calls take the direct path).
    @Test(arguments: [false, true]) func bodiesOverTheLimitAnswer413(live: Bool) async throws {
        let harness = GatewayHarness(maxRequestBytes: 1024, live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployServer(client, harness, "small")
            let big = try await client.execute(uri: "/function/small", method: .post, body: ByteBuffer(repeating: 65, count: 4096))
            #expect(big.status == .contentTooLarge)
            #expect(try await client.execute(uri: "/function/small", method: .post, body: ByteBuffer(string: "ok")).status == .created)
        }
    }

    @Test func scaleFunctionSetsReplicasAndTheCountSurvivesARestart() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployServer(client, harness, "wide", annotations: #", "com.openfaas.scale.max": "4""#)
            let scaled = try await client.execute(uri: "/system/scale-function/wide", method: .post, headers: harness.jsonAuth(),
                                                  body: ByteBuffer(string: #"{"serviceName": "wide", "replicas": 3}"#))
            #expect(scaled.status == .accepted)
            #expect(try await status(client, harness, "wide").replicas == 3)
            let allUp = try await eventually { try await status(client, harness, "wide").availableReplicas == 3 }
            #expect(allUp)
            var pids = Set<String>()
            for _ in 0..<6 { pids.insert(String(buffer: try await client.execute(uri: "/function/wide/pid", method: .get).body)) }
            #expect(pids.count == 3, "idle replicas share the calls: \(pids)")
            // Above the maximum is clamped; negative is refused.
            _ = try await client.execute(uri: "/system/scale-function/wide", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"replicas": 9}"#))
            #expect(try await status(client, harness, "wide").replicas == 4)
            let negative = try await client.execute(uri: "/system/scale-function/wide", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"replicas": -1}"#))
            #expect(negative.status == .badRequest)
            _ = try await client.execute(uri: "/system/scale-function/wide", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"replicas": 2}"#))
            let down = try await eventually { try await status(client, harness, "wide").availableReplicas == 2 }
            #expect(down)
            let unknown = try await client.execute(uri: "/system/scale-function/nope", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"replicas": 1}"#))
            #expect(unknown.status == .notFound)
        }
        // A restart brings back the scaled count.
        try await harness.run { client in
            #expect(try await status(client, harness, "wide").replicas == 2)
            let back = try await eventually { try await status(client, harness, "wide").availableReplicas == 2 }
            #expect(back)
            #expect(try await client.execute(uri: "/function/wide/pid", method: .get).status == .ok)
        }
    }

    @Test func scaledToZeroStartsAReplicaOnTheNextCall() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployServer(client, harness, "napper")
            _ = try await client.execute(uri: "/system/scale-function/napper", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"replicas": 0}"#))
            let asleep = try await eventually { try await status(client, harness, "napper").availableReplicas == 0 }
            #expect(asleep)
            #expect(try await client.execute(uri: "/function/napper/pid", method: .get).status == .ok)
            #expect(try await status(client, harness, "napper").availableReplicas == 1)
        }
    }

    /// Wasm replicas are warm instances, classic ones units of capacity: scale-function moves both,
    /// to zero too, and a call scales them back from zero.
    @Test func wasmAndClassicFunctionsScaleToACountToZeroAndBack() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo")
            let classic = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                   body: ByteBuffer(string: #"{"service": "cat", "image": "cat", "envProcess": "cat"}"#))
            #expect(classic.status == .accepted)
            for name in ["echo", "cat"] {
                #expect(try await status(client, harness, name).replicas == 1)
                let scaled = try await client.execute(uri: "/system/scale-function/\(name)", method: .post, headers: harness.jsonAuth(),
                                                      body: ByteBuffer(string: #"{"replicas": 3}"#))
                #expect(scaled.status == .accepted)
                #expect(try await eventually { try await status(client, harness, name).availableReplicas == 3 }, "\(name) reaches 3 replicas")
                #expect(try await status(client, harness, name).replicas == 3)
                _ = try await client.execute(uri: "/system/scale-function/\(name)", method: .post, headers: harness.jsonAuth(),
                                             body: ByteBuffer(string: #"{"replicas": 0}"#))
                let zero = try await status(client, harness, name)
                #expect(zero.replicas == 0 && zero.availableReplicas == 0, "\(name) at zero")
                let answer = try await client.execute(uri: "/function/\(name)", method: .post, body: ByteBuffer(string: "back"))
                #expect(answer.status == .ok && String(buffer: answer.body) == "back", "\(name) answers from zero")
                #expect(try await status(client, harness, name).replicas == 1, "\(name) scaled back from zero")
            }
        }
    }
}
