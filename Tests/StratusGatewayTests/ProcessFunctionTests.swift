import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import Testing

/// Process functions through the API: host commands (OpenFaaS `--fprocess`), bundles, limits.
@Suite struct ProcessFunctionTests {
    func deploy(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ json: String) async throws -> TestResponse {
        try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: json))
    }

    /// A tar.gz holding `files` (relative path → text).
    func bundle(_ files: [String: String]) throws -> [UInt8] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, text) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let archive = folder.appendingPathExtension("tar.gz")
        defer { try? FileManager.default.removeItem(at: archive) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", archive.path, "-C", folder.path, "."]
        try tar.run()
        tar.waitUntilExit()
        return [UInt8](try Data(contentsOf: archive))
    }

    /// A tar.gz with a `../escape.sh` entry (tar keeps it only with -P).
    func escapingBundle() throws -> [UInt8] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("evil-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("inner"), withIntermediateDirectories: true)
        try "echo evil\n".write(to: folder.appendingPathComponent("escape.sh"), atomically: true, encoding: .utf8)
        let archive = folder.appendingPathComponent("evil.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czPf", archive.path, "-C", folder.appendingPathComponent("inner").path, "../escape.sh"]
        try tar.run()
        tar.waitUntilExit()
        return [UInt8](try Data(contentsOf: archive))
    }

    /// Through the router, and live (where calls with a small body go the direct way).
    @Test(arguments: [false, true])
    func deploysAHostCommandLikeFaasCliFprocess(live: Bool) async throws {
        let harness = GatewayHarness(live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            let response = try await deploy(client, harness, #"{"service": "cat", "image": "ghcr.io/openfaas/alpine:latest", "envProcess": "cat"}"#)
            #expect(response.status == .accepted, "\(String(buffer: response.body))")
            let answer = try await client.call("cat", "meow")
            #expect(String(buffer: answer.body) == "meow")
            let status = try await client.execute(uri: "/system/function/cat", method: .get, headers: harness.auth)
            #expect(String(buffer: status.body).contains(#""runtime":"process""#))
        }
    }

    /// A classic call that goes the direct way (live: a small body, a ready launcher) is the call the
    /// router makes: the same watchdog variables, status, headers and log; an answer past the first
    /// MiB streams; a failure after it started cuts it off.
    @Test(arguments: [false, true])
    func classicCallsAnswerTheSameEitherWay(live: Bool) async throws {
        let harness = GatewayHarness(live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            let show = #"sh -c 'echo \"$Http_Method $Http_Path $Http_Query $Http_X_Test\"; cat'"#
            #expect(try await deploy(client, harness, #"{"service": "show", "image": "i", "envProcess": "\#(show)"}"#).status == .accepted)
            let answer = try await client.execute(uri: "/function/show/a/b?x=1", method: .post,
                                                  headers: [.init("X-Test")!: "yes", .init("X-Call-Id")!: "call-77"], body: ByteBuffer(string: "body"))
            #expect(answer.status == .ok)
            #expect(String(buffer: answer.body) == "POST /a/b x=1 yes\nbody")
            #expect(answer.headers[.init("X-Call-Id")!] == "call-77")
            #expect(answer.headers[.init("X-Duration-Seconds")!] != nil)

            let big = #"sh -c 'head -c 3145728 /dev/zero'"#
            #expect(try await deploy(client, harness, #"{"service": "big", "image": "i", "envProcess": "\#(big)"}"#).status == .accepted)
            let large = try await client.call("big")
            #expect(large.status == .ok)
            #expect(large.body.readableBytes == 3 << 20)

            // Ordinary failures keep their status and reason.
            let fail = #"sh -c 'echo broken >&2; exit 4'"#
            #expect(try await deploy(client, harness, #"{"service": "fail", "image": "i", "envProcess": "\#(fail)"}"#).status == .accepted)
            let failed = try await client.call("fail")
            #expect(failed.status == .internalServerError)
            #expect(String(buffer: failed.body).contains("exited with code 4"))
            let logs = try await client.execute(uri: "/system/logs?name=fail&tail=-1", method: .get, headers: harness.auth)
            #expect(String(buffer: logs.body).contains("broken"))
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"gateway_function_invocation_total{function_name="fail",code="500"} 1"#))
            // Last: a cut answer ends the (live) connection.
            let late = #"sh -c 'head -c 2097152 /dev/zero; exit 3'"#
            #expect(try await deploy(client, harness, #"{"service": "late", "image": "i", "envProcess": "\#(late)"}"#).status == .accepted)
            let cut = try? await client.call("late")
            #expect(cut == nil, "a failure after the answer started cuts it off: the caller sees no complete answer")

        }
    }

    @Test func refusesDeploymentsWithNothingToRun() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let none = try await deploy(client, harness, #"{"service": "x", "image": "nothing:here"}"#)
            #expect(none.status == .badRequest)
            #expect(String(buffer: none.body).contains("envProcess"))
            let missing = try await deploy(client, harness, #"{"service": "x", "image": "i", "envProcess": "no-such-binary-xyz"}"#)
            #expect(missing.status == .badRequest)
            #expect(String(buffer: missing.body).contains("not found"))
        }
    }

    /// Through the router, and live (where calls with a small body go the direct way).
    @Test(arguments: [false, true])
    func failuresOfProcessesAnswer500Or504(live: Bool) async throws {
        let harness = GatewayHarness(live: live)
        defer { harness.cleanUp() }
        try await harness.run { client in
            _ = try await deploy(client, harness, #"{"service": "fail", "image": "i", "envProcess": "sh -c 'echo oops >&2; exit 2'"}"#)
            _ = try await deploy(client, harness, #"{"service": "hang", "image": "i", "envProcess": "sleep 30", "annotations": {"com.stratus.timeout": "300ms"}}"#)
            _ = try await deploy(client, harness, #"{"service": "cat", "image": "i", "envProcess": "cat"}"#)
            let fail = try await client.call("fail")
            #expect(fail.status == .internalServerError)
            #expect(String(buffer: fail.body).contains("exited with code 2"))
            #expect(try await client.call("hang").status == .gatewayTimeout)
            #expect(String(buffer: try await client.call("cat", "fine").body) == "fine")
        }
    }

    /// (Through the router: the live test client has one connection, so its calls never overlap.
    /// A call over the limit never goes the direct way; the router turns it away.)
    @Test func maxInflightAnswers429() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let deployed = try await deploy(client, harness, #"{"service": "slow", "image": "i", "envProcess": "sh -c 'sleep 1; echo done'", "envVars": {"max_inflight": "1"}}"#)
            #expect(deployed.status == .accepted)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<3 { group.addTask { try await client.call("slow").status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count >= 1)
            #expect(statuses.contains(.tooManyRequests))
            let bad = try await deploy(client, harness, #"{"service": "bad", "image": "i", "envProcess": "cat", "envVars": {"max_inflight": "lots"}}"#)
            #expect(bad.status == .badRequest)
        }
    }

    @Test func runsABundleAndRefusesOneThatEscapesItsFolder() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let good = try bundle(["run.sh": "read body; echo \"bundle got $body\"\n"])
            let upload = try await client.execute(uri: "/system/artifacts?name=script:1", method: .post, headers: harness.auth, body: ByteBuffer(bytes: good))
            #expect(upload.status == .created, "\(String(buffer: upload.body))")
            let noCommand = try await deploy(client, harness, #"{"service": "script", "image": "script:1"}"#)
            #expect(noCommand.status == .badRequest)
            #expect(String(buffer: noCommand.body).contains("envProcess"))
            let deployed = try await deploy(client, harness, #"{"service": "script", "image": "script:1", "envProcess": "sh run.sh"}"#)
            #expect(deployed.status == .accepted, "\(String(buffer: deployed.body))")
            #expect(String(buffer: try await client.call("script", "hello\n").body) == "bundle got hello\n")

            let evil = try escapingBundle()
            let refused = try await client.execute(uri: "/system/artifacts?name=evil:1", method: .post, headers: harness.auth, body: ByteBuffer(bytes: evil))
            #expect(refused.status == .badRequest)
            let notTar = try await client.execute(uri: "/system/artifacts?name=junk:1", method: .post, headers: harness.auth, body: ByteBuffer(bytes: [0x1f, 0x8b, 1, 2, 3]))
            #expect(notTar.status == .badRequest)
        }
    }

    @Test func hostCommandFunctionsSurviveARestart() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let deployed = try await deploy(client, harness, #"{"service": "cat", "image": "i", "envProcess": "cat"}"#)
            #expect(deployed.status == .accepted)
        }
        try await harness.run { client in
            let answer = try await client.call("cat", "again")
            #expect(String(buffer: answer.body) == "again")
        }
    }
}
