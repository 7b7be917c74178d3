import Foundation
import StratusTestSupport
import Testing

/// Custom runtimes (a `bootstrap` talking to the Lambda or SCF runtime API) and layers, through the
/// real server and CLI.
@Suite(.serialized) struct CustomRuntimeTests {
    func cli(_ server: ServerProcess, _ arguments: [String], in directory: URL? = nil) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], in: directory, environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    func workspace() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A folder of `files` (path → text; `bootstrap` is made executable).
    func folder(_ files: [String: String], in parent: URL, named name: String) throws -> URL {
        let folder = parent.appendingPathComponent(name)
        for (path, text) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            if path == "bootstrap" { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
        }
        return folder
    }

    /// `tar -czf` of a folder's contents, or of `entries` given as tar arguments (to make bad archives).
    func tarball(_ folder: URL, entries: [String] = ["."], extra: [String] = []) throws -> URL {
        let output = folder.deletingLastPathComponent().appendingPathComponent("\(folder.lastPathComponent)-\(UUID().uuidString).tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", output.path] + extra + ["-C", folder.path] + entries
        tar.standardError = FileHandle.nullDevice
        try tar.run()
        tar.waitUntilExit()
        return output
    }

    func post(_ url: String, _ body: String, headers: [String] = []) throws -> (status: Int, headers: String, body: String) {
        let answer = try Curl.request(url, body: body, headers: headers)
        return (answer.status, answer.head, answer.body)
    }

    /// Deploys the test bootstrap (Tests/Support/lambda_bootstrap.py) with `mode`; returns the CLI's result.
    func deployTestBootstrap(_ server: ServerProcess, name: String, mode: String, in directory: URL, annotations: [String] = []) throws -> StratusBinary.Output {
        let script = try String(contentsOf: WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Support/lambda_bootstrap.py"), encoding: .utf8)
        let bundle = try tarball(try folder(["bootstrap": script], in: directory, named: "\(name)-src"))
        return try cli(server, ["deploy", "--name", name, "--artifact", bundle.path, "--env", "MODE=\(mode)",
                                "--annotation", "com.stratus.mode=bootstrap", "--annotation", "com.stratus.ready-timeout=3s"]
                                + annotations.flatMap { ["--annotation", $0] })
    }

    /// A replica's runtime API serves only that replica's processes: another function (or any other
    /// process on the host) that connects to its loopback port is cut off, and cannot take its
    /// events; the event is answered by the function's own bootstrap.
    @Test func anotherProcessCannotTakeAFunctionsEvents() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        // The replica tests' bash bootstrap: it answers `done` to every event.
        let victim = try tarball(try folder(["bootstrap": ReplicaTests.Setup.bootstrap], in: directory, named: "victim-src"))
        let deployed = try cli(server, ["deploy", "--name", "victim", "--artifact", victim.path, "--annotation", "com.stratus.mode=bootstrap"])
        #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
        // The runtime API's port: the server's listening port that is not its own.
        let ss = Process()
        ss.executableURL = URL(fileURLWithPath: "/usr/bin/ss")
        ss.arguments = ["-ltnpH"]
        let listing = Pipe()
        ss.standardOutput = listing
        try ss.run()
        let sockets = String(decoding: listing.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ss.waitUntilExit()
        let ports = sockets.split(separator: "\n").filter { $0.contains("pid=\(server.processIdentifier),") }
            .compactMap { line in line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") }.flatMap { Int($0.split(separator: ":").last ?? "") } }
            .filter { $0 != server.port }
        let port = try #require(ports.first, "the victim's runtime API port among \(sockets)")
        // The thief: a classic function that asks the victim's runtime API for the next event.
        let thief = try cli(server, ["deploy", "--name", "thief", "--env", "TARGET=\(port)",
                                     "--fprocess", "sh -c \"curl -s -m 3 -o /dev/null -w %{http_code} http://127.0.0.1:$TARGET/2018-06-01/runtime/invocation/next; echo \\\" curl=$?\\\"\""])
        #expect(thief.status == 0, "\(thief.stdout)\(thief.stderr)")
        let stealing = try Curl.start(["-X", "POST", "\(server.url)/function/thief"])
        usleep(300_000)
        let answer = try post("\(server.url)/function/victim", "secret")
        #expect(answer.status == 200 && answer.body == "done", "\(answer)")
        let stolen = stealing.output()
        #expect(stolen.hasPrefix("000"), "the thief's connection is cut, it gets no event: \(stolen)")
        // Nor can any other process on the host (this test) talk to it.
        #expect(try Curl.status(["http://127.0.0.1:\(port)/2018-06-01/runtime/invocation/next"]) == 0)
        #expect(try post("\(server.url)/function/victim", "again").body == "done")
    }

    /// A custom runtime's versions each keep their own bootstrap; an alias splits its events between
    /// them by call id, sync and async alike.
    @Test func aCustomRuntimeHasVersionsAndAnAliasSplitsItsEvents() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bootstrap = ReplicaTests.Setup.bootstrap.replacingOccurrences(of: "-d done", with: "-d \"$WORD\"")
        let bundle = try tarball(try folder(["bootstrap": bootstrap], in: directory, named: "rt-src"))
        for word in ["one", "two"] {
            let deployed = try cli(server, ["deploy", "--name", "rt", "--artifact", bundle.path, "--annotation", "com.stratus.mode=bootstrap",
                                            "--env", "WORD=\(word)"])
            #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
            #expect(try cli(server, ["publish", "rt"]).status == 0)
        }
        #expect(try post("\(server.url)/function/rt:1", "x").body == "one")
        #expect(try post("\(server.url)/function/rt:2", "x").body == "two")
        #expect(try cli(server, ["alias", "set", "rt", "live", "1=50,2=50"]).status == 0)
        var seen: [String: Int] = [:]
        for index in 0..<40 {
            let answer = try Curl.request("\(server.url)/function/rt:live", body: "x", headers: ["X-Call-Id: event-\(index)"])
            #expect(answer.status == 200)
            seen[answer.body, default: 0] += 1
            // The same id again: the same version.
            #expect(try Curl.request("\(server.url)/function/rt:live", body: "x", headers: ["X-Call-Id: event-\(index)"]).body == answer.body)
        }
        #expect(seen.keys.sorted() == ["one", "two"], "\(seen)")
    }

    /// AWS's own runtime interface client (awslambdaric, from PyPI) runs unmodified: its code comes
    /// from a layer at /opt/python, the event is an API Gateway v2 payload, and its answers and
    /// errors come back as HTTP.
    @Test func awsLambdaRuntimeInterfaceClientRunsFromALayer() throws {
        let ric = WasmFixtures.repositoryRoot.appendingPathComponent(".cache/lambda-ric")
        #expect(FileManager.default.fileExists(atPath: ric.appendingPathComponent("python/awslambdaric").path),
                "run `make setup-test-deps` (scripts/setup-test-deps.sh) first")
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }

        let published = try cli(server, ["layer", "publish", "ric", ric.path])
        #expect(published.status == 0 && published.stdout.contains("Published layer ric:1"), "\(published.stdout)\(published.stderr)")
        let again = try cli(server, ["layer", "publish", "ric", ric.path])
        #expect(again.stdout.contains("already holds these contents as version 1"), "\(again.stdout)")

        _ = try folder([
            "bootstrap": "#!/bin/sh\nexport PYTHONPATH=/opt/python\nexec python3 -m awslambdaric \"$_HANDLER\"\n",
            "app.py": """
                import json
                def handler(event, context):
                    return {"statusCode": 201, "headers": {"Content-Type": "application/json", "X-Lambda": "yes"},
                            "body": json.dumps({"said": event["body"], "path": event["rawPath"], "method": event["requestContext"]["http"]["method"],
                                                "request_id": context.aws_request_id, "function": context.function_name,
                                                "time_left": context.get_remaining_time_in_millis() > 0})}
                def boom(event, context):
                    raise ValueError("no good")
                """,
        ], in: directory, named: "ric-fn")
        try Data("""
            version: 1.0
            provider:
              name: openfaas
            functions:
              pylambda:
                lang: bootstrap
                handler: ./ric-fn
                layers: [ric]
                environment:
                  _HANDLER: app.handler
                annotations:
                  com.stratus.event-format: apigateway-aws
              pyboom:
                lang: bootstrap
                handler: ./ric-fn
                layers: [ric]
                environment:
                  _HANDLER: app.boom
            """.utf8).write(to: directory.appendingPathComponent("stack.yml"))
        let up = try cli(server, ["up"], in: directory)
        #expect(up.status == 0, "\(up.stdout)\(up.stderr)")

        let answer = try post("\(server.url)/function/pylambda/orders?x=1", "two coffees")
        #expect(answer.status == 201, "\(answer)")
        #expect(answer.headers.contains("X-Lambda: yes"))
        let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        #expect(object?["said"] as? String == "two coffees")
        #expect(object?["path"] as? String == "/orders")
        #expect(object?["method"] as? String == "POST")
        #expect(object?["function"] as? String == "pylambda")
        #expect(object?["time_left"] as? Bool == true)
        let callID = answer.headers.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("x-call-id:") }?.dropFirst(10)
            .trimmingCharacters(in: .whitespaces)
        #expect(object?["request_id"] as? String == callID, "the Lambda request id is the call id")

        // The layer was pinned at deploy: a stack that lists `ric` now runs ric:1.
        let described = try cli(server, ["describe", "pylambda"])
        #expect(described.stdout.contains("com.stratus.layers") && described.stdout.contains("ric:1"), "\(described.stdout)")

        // A handler that raises: 502 naming the error; a raw (non-JSON) body a Lambda cannot unmarshal: 502 too.
        let boom = try post("\(server.url)/function/pyboom", "{\"order\": 1}")
        #expect(boom.status == 502 && boom.body.contains("ValueError") && boom.body.contains("no good"), "\(boom)")
        let mismatch = try post("\(server.url)/function/pyboom", "not json at all")
        #expect(mismatch.status == 502 && mismatch.body.contains("Runtime.UnmarshalError"), "\(mismatch)")
        // With an API gateway format any body fits in the event: text as it is, binary as base64.
        let binary = try post("\(server.url)/function/pylambda", "caf\u{e9} \u{1F600}")
        #expect(binary.status == 201 && binary.body.contains("caf\\u00e9"), "\(binary)")

        // A layer in use cannot be removed; a removal must name the version; an unknown one is not found.
        let remove = try cli(server, ["layer", "remove", "ric:1"])
        #expect(remove.status != 0 && remove.stderr.contains("used by"), "\(remove.stderr)")
        let unversioned = try cli(server, ["layer", "remove", "ric"])
        #expect(unversioned.status != 0 && unversioned.stderr.contains("name the version"), "\(unversioned.stderr)")
        let unknown = try cli(server, ["layer", "remove", "ric:9"])
        #expect(unknown.status != 0 && unknown.stderr.contains("not found"), "\(unknown.stderr)")
        let badName = try cli(server, ["layer", "publish", "Bad_Name", ric.path])
        #expect(badName.status != 0 && badName.stderr.contains("invalid layer name"), "\(badName.stderr)")
    }

    /// Layers appear read-only at /opt in their order (later files win), for process functions in
    /// their sandbox and for Wasm functions as a preopened directory that cannot be left.
    @Test func layersAreReadOnlyAtOptInOrderAndPinned() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }

        let base = try folder(["a.txt": "base-a", "b.txt": "base-b", "lib/deep.txt": "deep"], in: directory, named: "base")
        let top = try folder(["b.txt": "top-b"], in: directory, named: "top")
        #expect(try cli(server, ["layer", "publish", "base", base.path]).status == 0)
        #expect(try cli(server, ["layer", "publish", "top", top.path]).status == 0)

        let script = try folder(["handler.sh": "cat /opt/a.txt /opt/b.txt /opt/lib/deep.txt; touch /opt/new 2>/dev/null && echo WRITABLE; true\n"],
                                in: directory, named: "reader")
        let bundle = try tarball(script)
        let deployed = try cli(server, ["deploy", "--name", "reader", "--artifact", bundle.path, "--fprocess", "bash handler.sh",
                                        "--annotation", "com.stratus.layers=base, top"])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(try post("\(server.url)/function/reader", "").body == "base-atop-bdeep")

        let wasm = try cli(server, ["deploy", "--name", "wasmreader", "--wasm", try WasmFixtures.path("readfile").path,
                                    "--annotation", "com.stratus.layers=base,top"])
        #expect(wasm.status == 0, "\(wasm.stderr)")
        #expect(try post("\(server.url)/function/wasmreader", "/opt/b.txt").body == "top-b")
        #expect(try post("\(server.url)/function/wasmreader", "/opt/lib/deep.txt").body == "deep")
        #expect(try post("\(server.url)/function/wasmreader", "/opt/../etc/passwd").body.hasPrefix("cannot open"))
        #expect(try post("\(server.url)/function/wasmreader", "/etc/passwd").body.hasPrefix("cannot open"))
        #expect(try post("\(server.url)/function/wasmreader", "/opt/missing.txt").body.hasPrefix("cannot open"))

        // A new version of `top` does not change deployed functions, not even after a restart.
        let newTop = try folder(["b.txt": "top-b-2"], in: directory, named: "top2")
        let second = try cli(server, ["layer", "publish", "top", newTop.path])
        #expect(second.stdout.contains("top:2"), "\(second.stdout)")
        server.stop()
        let restarted = try ServerProcess(dataDirectory: server.dataDirectory)
        defer { restarted.stop() }
        #expect(try post("\(restarted.url)/function/reader", "").body == "base-atop-bdeep")
        #expect(try post("\(restarted.url)/function/wasmreader", "/opt/b.txt").body == "top-b")
        let listed = try cli(restarted, ["layer", "list"])
        #expect(listed.stdout.contains("top") && listed.stdout.contains("2"), "\(listed.stdout)")

        // Bad input: an unknown layer, a bad reference, archives with absolute or `..` paths.
        let unknown = try cli(restarted, ["deploy", "--name", "lost", "--artifact", bundle.path, "--fprocess", "bash handler.sh",
                                          "--annotation", "com.stratus.layers=nope"])
        #expect(unknown.status != 0 && unknown.stderr.contains("layer 'nope' not found"), "\(unknown.stderr)")
        let badName = try cli(restarted, ["deploy", "--name", "lost", "--artifact", bundle.path, "--fprocess", "bash handler.sh",
                                          "--annotation", "com.stratus.layers=Bad/Name"])
        #expect(badName.status != 0 && badName.stderr.contains("com.stratus.layers"), "\(badName.stderr)")
        let absolute = try tarball(base, entries: [base.appendingPathComponent("a.txt").path], extra: ["-P"])
        let dotdot = try tarball(base, entries: ["../top/b.txt"], extra: ["-P"])
        for archive in [absolute, dotdot] {
            let reply = try post("\(restarted.url)/system/layers/evil", "@\(archive.path)",
                                 headers: ["Authorization: Basic " + Data("admin:\(restarted.password ?? "")".utf8).base64EncodedString()])
            #expect(reply.status == 400 && reply.body.contains("outside its folder"), "\(reply)")
        }
    }

    /// The seed's shape: an SCF custom runtime (a bash bootstrap) with its tools in a layer, behind
    /// the API gateway, described by a serverless.yml: imported, deployed, called.
    @Test func seedStyleSCFFunctionImportedFromServerlessYml() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try folder([
            "bootstrap": """
                #!/bin/bash
                set -euo pipefail
                source ./"$(echo $_HANDLER | cut -d. -f1).sh"
                curl -d " " -X POST -s "http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime/init/ready"
                while true
                do
                  HEADERS="$(mktemp)"
                  EVENT_DATA=$(curl -sS -LD "$HEADERS" -X GET -s "http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime/invocation/next")
                  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
                  curl -X POST -s "http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime/invocation/response" -d "$RESPONSE"
                done
                """,
            "index.sh": """
                main_handler () {
                  BODY=$(printf '%s' "$1" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["httpMethod"], e["path"], e["queryString"].get("lang",""), e["body"])')
                  printf '{"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "%s"}' "$(/opt/bin/greet "$BODY")"
                }
                """,
        ], in: directory, named: "src")
        let tools = try folder(["bin/greet": "#!/bin/sh\necho \"greeted: $1\"\n"], in: directory, named: "tools")
        chmod(tools.appendingPathComponent("bin/greet").path, 0o755)
        try Data("""
            component: scf
            name: greeter
            inputs:
              name: greeter
              src: ./src
              handler: index.main_handler
              runtime: CustomRuntime
              region: ap-guangzhou
              memorySize: 128
              timeout: 10
              layers:
                - name: tools
                  version: 1
              events:
                - apigw:
                    parameters:
                      endpoints:
                        - path: /
                          method: POST
            """.utf8).write(to: directory.appendingPathComponent("serverless.yml"))
        let imported = try StratusBinary.run(["import", "serverless.yml"], in: directory)
        #expect(imported.status == 0 && imported.stdout.contains("Wrote stack.yml with 1 function: greeter"), "\(imported.stdout)\(imported.stderr)")
        #expect(imported.stdout.contains("region"), "what was not carried over is listed: \(imported.stdout)")
        let again = try StratusBinary.run(["import", "serverless.yml"], in: directory)
        #expect(again.status != 0 && again.stderr.contains("--force"), "an existing stack.yml is not overwritten")

        #expect(try cli(server, ["layer", "publish", "tools", tools.path]).status == 0)
        let up = try cli(server, ["up"], in: directory)
        #expect(up.status == 0, "\(up.stdout)\(up.stderr)")
        let answer = try post("\(server.url)/function/greeter/hello?lang=en", "world")
        #expect(answer.status == 200 && answer.body == "greeted: POST /hello en world", "\(answer)")
    }

    /// Every way a bootstrap can misbehave gets a clear answer, and the function recovers.
    @Test func misbehavingBootstrapsGetClearErrors() throws {
        let server = try ServerProcess(arguments: ["--max-response-size", "1Mi"])
        defer { server.destroy() }
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }

        // Init: never asks for an event, exits, reports an init error: the deploy fails and says why.
        let never = try deployTestBootstrap(server, name: "never", mode: "never-next", in: directory)
        #expect(never.status != 0 && never.stderr.contains("did not ask for an event"), "\(never.stderr)")
        let exits = try deployTestBootstrap(server, name: "exits", mode: "exit-init", in: directory)
        #expect(exits.status != 0 && exits.stderr.contains("exited with status 3 before it was ready"), "\(exits.stderr)")
        let initError = try deployTestBootstrap(server, name: "initerr", mode: "init-error", in: directory)
        #expect(initError.status != 0 && initError.stderr.contains("missing DATABASE_URL"), "\(initError.stderr)")
        #expect(try cli(server, ["list"]).stdout.contains("never") == false, "a failed deploy stores nothing")

        // Two `next` at once: the older is let go with 409 (its client may be gone), the newer gets the event.
        #expect(try deployTestBootstrap(server, name: "twice", mode: "twice", in: directory).status == 0)
        // (An event that arrived before the second `next` would be given up by it: wait until the first was let go.)
        for _ in 0..<300 {
            if try cli(server, ["logs", "twice"]).stdout.contains("first next got") { break }
            usleep(100_000)
        }
        let twice = try post("\(server.url)/function/twice", "x")
        #expect(twice.status == 200 && twice.body == "first next got 409", "\(twice)")

        let name = "runtime"
        let deployed = try deployTestBootstrap(server, name: name, mode: "serve", in: directory, annotations: ["com.stratus.timeout=2s"])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(try post("\(server.url)/function/\(name)", "hello").body == "ok: hello")
        // The deadline header is the call's: at most its 2 s timeout ahead.
        let remaining = Int(try post("\(server.url)/function/\(name)", "deadline").body.dropFirst("remaining ".count)) ?? -1
        #expect(remaining > 0 && remaining <= 2000, "Lambda-Runtime-Deadline-Ms is \(remaining) ms ahead")
        // A response for an unknown request id: 400 to the bootstrap, the caller still gets the right answer.
        #expect(try post("\(server.url)/function/\(name)", "unknown-id").body == "unknown id got 400")
        // A posted error: 502 with its type and message.
        let failed = try post("\(server.url)/function/\(name)", "fail")
        #expect(failed.status == 502 && failed.body.contains("ValueError") && failed.body.contains("the order was empty"), "\(failed)")
        // An answer over --max-response-size: 502 for the caller, 413 for the bootstrap.
        let big = try post("\(server.url)/function/\(name)", "big")
        #expect(big.status == 502 && big.body.contains("over the limit"), "\(big)")
        #expect(try post("\(server.url)/function/\(name)", "after big").body == "ok: after big")
        // A handler that hangs past the deadline: 504, the bootstrap is restarted and serves the next call.
        let hang = try post("\(server.url)/function/\(name)", "hang")
        #expect(hang.status == 504 && hang.body.contains("timed out"), "\(hang)")
        #expect(try post("\(server.url)/function/\(name)", "after hang").body == "ok: after hang")
        // A bootstrap that dies mid-call: 502 saying so, and a new one takes the next call.
        let crash = try post("\(server.url)/function/\(name)", "crash")
        #expect(crash.status == 502 && (crash.body.contains("exited") || crash.body.contains("killed")), "\(crash)")
        #expect(try post("\(server.url)/function/\(name)", "after crash").body == "ok: after crash")
        let logs = try cli(server, ["logs", name]).stdout
        #expect(logs.contains("missed its deadline") && logs.contains("big response got 413"), "\(logs)")
    }
}
