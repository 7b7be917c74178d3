import Foundation
import StratusTestSupport
import Testing

/// Replicas and scaling work the same way for the four kinds of function (Wasm, classic process,
/// http mode, custom-runtime bootstrap), as OpenFaaS users expect: scale-function to N and to
/// zero, a call scaling from zero, the `com.openfaas.scale.*` labels (min, min=max, load up and
/// down, zero after idling). Each kind has a call that takes a second or two (`slow`), for load.
@Suite(.serialized) struct ReplicaTests {
    enum Kind: String, CaseIterable, Sendable {
        case wasm, classic, http, bootstrap
    }

    /// One server and a scratch folder for bundles.
    final class Setup {
        let server: ServerProcess
        let directory: URL

        init() throws {
            server = try ServerProcess()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-replicas-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        deinit {
            server.destroy()
            try? FileManager.default.removeItem(at: directory)
        }

        func cli(_ arguments: [String]) throws -> StratusBinary.Output {
            try StratusBinary.run(arguments, in: directory, environment: [
                "OPENFAAS_URL": "", "STRATUS_URL": server.url, "STRATUS_HOME": server.dataDirectory.path,
            ])
        }

        /// Deploys a function of `kind` named `name` with these labels; every kind answers `done`.
        func deploy(_ kind: Kind, _ name: String, labels: [String: String]) throws {
            var arguments = ["deploy", "--name", name]
            switch kind {
            case .wasm:
                // Busy for two seconds per call, whatever the body.
                arguments += ["--wasm", try WasmFixtures.path("slow").path]
            case .classic:
                arguments += ["--artifact", try bundle(name, ["handler.sh": "body=$(cat)\n[ \"$body\" = slow ] && sleep 1\nprintf done\n"]).path,
                              "--fprocess", "sh handler.sh"]
            case .http:
                arguments += ["--artifact", try bundle(name, ["server.py": Self.server]).path, "--fprocess", "python3 server.py", "--env", "mode=http"]
            case .bootstrap:
                arguments += ["--artifact", try bundle(name, ["bootstrap": Self.bootstrap]).path, "--annotation", "com.stratus.mode=bootstrap"]
            }
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) { arguments += ["--label", "\(key)=\(value)"] }
            let deployed = try cli(arguments)
            #expect(deployed.status == 0, "\(kind): \(deployed.stdout)\(deployed.stderr)")
        }

        func bundle(_ name: String, _ files: [String: String]) throws -> URL {
            let folder = directory.appendingPathComponent("\(name)-src")
            for (path, text) in files {
                let url = folder.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
            }
            let output = directory.appendingPathComponent("\(name).tar.gz")
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/bin/tar")
            tar.arguments = ["-czf", output.path, "-C", folder.path, "."]
            try tar.run()
            tar.waitUntilExit()
            return output
        }

        /// `replicas` and `availableReplicas` from `GET /system/function/NAME` (through the CLI).
        func replicas(_ name: String) throws -> (desired: Int, available: Int) {
            let json = try cli(["describe", name, "--json"]).stdout
            let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
            return (object["replicas"] as? Int ?? -1, object["availableReplicas"] as? Int ?? -1)
        }

        func scale(_ name: String, to count: Int) throws {
            let scaled = try cli(["scale", name, "--replicas", String(count)])
            #expect(scaled.status == 0, "\(scaled.stdout)\(scaled.stderr)")
        }

        func call(_ name: String, _ body: String = "hi") throws -> (status: Int, body: String) {
            let answer = try Curl.request("\(server.url)/function/\(name)", body: body)
            return (answer.status, answer.body)
        }

        /// `calls` slow calls at once, `rounds` times over, in the background.
        func load(_ name: String, calls: Int = 4, rounds: Int = 3) throws -> [Curl.Running] {
            try (0..<calls).map { _ in
                try Curl.start(["--data", "slow"] + Array(repeating: "\(server.url)/function/\(name)", count: rounds))
            }
        }

        static let server = """
            import http.server, os, time

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    if body == b"slow":
                        time.sleep(1)
                    self.send_response(200)
                    self.send_header("Content-Length", "4")
                    self.end_headers()
                    self.wfile.write(b"done")

                def log_message(self, *args):
                    pass

            http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """

        static let bootstrap = """
            #!/bin/bash
            API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
            while true; do
              HEADERS=$(mktemp)
              EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
              ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\\r' | awk '{print $2}')
              [ "$EVENT" = slow ] && sleep 1
              curl -sS -X POST -d done "$API/invocation/$ID/response" > /dev/null
            done
            """
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    @Test(arguments: Kind.allCases)
    func scaleFunctionMovesEveryKindToTwoToZeroAndACallBringsItBack(kind: Kind) throws {
        let setup = try Setup()
        let name = "scaled-\(kind.rawValue)"
        try setup.deploy(kind, name, labels: [:])
        #expect(try eventually(30) { try setup.replicas(name) == (1, 1) }, "one replica after deploy")
        try setup.scale(name, to: 2)
        #expect(try setup.replicas(name).desired == 2, "the status shows the count at once")
        #expect(try eventually(30) { try setup.replicas(name) == (2, 2) }, "two replicas ready")
        try setup.scale(name, to: 0)
        #expect(try eventually(10) { try setup.replicas(name) == (0, 0) }, "scaled to zero")
        let answer = try setup.call(name)
        #expect(answer.status == 200 && answer.body == "done", "the call from zero waits for a replica: \(answer)")
        #expect(try setup.replicas(name).desired == 1)
    }

    /// `stratus scale` says the count the gateway applied: past `com.openfaas.scale.max`, the maximum.
    @Test func scalePastTheMaximumSaysWhatWasApplied() throws {
        let setup = try Setup()
        try setup.deploy(.classic, "capped", labels: ["com.openfaas.scale.max": "3"])
        let scaled = try setup.cli(["scale", "capped", "--replicas", "9"])
        #expect(scaled.status == 0 && scaled.stdout == "Scaled capped to 3 replicas (its com.openfaas.scale.max)\n", "\(scaled.stdout)\(scaled.stderr)")
        #expect(try setup.replicas("capped").desired == 3)
        let unknown = try setup.cli(["scale", "nobody", "--replicas", "1"])
        #expect(unknown.status != 0 && unknown.stderr.contains("404"), "\(unknown.stderr)")
    }

    @Test(arguments: Kind.allCases)
    func minLabelStartsThatManyAndMinEqualToMaxHoldsUnderLoad(kind: Kind) throws {
        let setup = try Setup()
        try setup.deploy(kind, "wide-\(kind.rawValue)", labels: ["com.openfaas.scale.min": "2"])
        #expect(try setup.replicas("wide-\(kind.rawValue)").desired == 2, "com.openfaas.scale.min=2 right after deploy")
        #expect(try eventually(30) { try setup.replicas("wide-\(kind.rawValue)") == (2, 2) })

        let fixed = "fixed-\(kind.rawValue)"
        try setup.deploy(kind, fixed, labels: ["com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1", "com.openfaas.scale.target": "1"])
        let load = try setup.load(fixed, rounds: 2)
        var counts: Set<Int> = []
        for _ in 0..<30 {
            counts.insert(try setup.replicas(fixed).desired)
            usleep(100_000)
        }
        let answers = load.map { $0.output() }.joined()
        #expect(counts == [1], "min=max=1: load never changes the count (\(counts))")
        #expect(answers.components(separatedBy: "done").count - 1 == 8, "every call answered: \(answers)")
    }

    @Test(arguments: Kind.allCases)
    func loadScalesUpToTheMaximumAndBackDownThenToZeroAfterIdling(kind: Kind) throws {
        let setup = try Setup()
        let name = "elastic-\(kind.rawValue)"
        try setup.deploy(kind, name, labels: [
            "com.openfaas.scale.max": "2", "com.openfaas.scale.target": "1", "com.stratus.scale.down-delay": "1s",
            "com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "8s",
        ])
        #expect(try eventually(30) { try setup.replicas(name) == (1, 1) })
        let load = try setup.load(name)
        #expect(try eventually(30) { try setup.replicas(name).desired == 2 }, "scaled up under load")
        var highest = 0
        for _ in 0..<10 {
            highest = max(highest, try setup.replicas(name).desired)
            usleep(100_000)
        }
        #expect(highest == 2, "never past com.openfaas.scale.max")
        let answers = load.map { $0.output() }.joined()
        #expect(answers.components(separatedBy: "done").count - 1 == 12, "every call under load answered: \(answers)")
        #expect(try eventually(30) { try setup.replicas(name).desired == 1 }, "back down when the load stopped")
        #expect(try eventually(30) { try setup.replicas(name) == (0, 0) }, "to zero after the zero-duration")
        let logs = try setup.cli(["logs", name]).stdout
        #expect(logs.contains("scaled \(name) from 1 to 0 replicas"), "\(logs)")
        let answer = try setup.call(name)
        #expect(answer.status == 200 && answer.body == "done", "\(answer)")
    }
}
