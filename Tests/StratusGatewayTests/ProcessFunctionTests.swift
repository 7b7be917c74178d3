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

    @Test func deploysAHostCommandLikeFaasCliFprocess() async throws {
        let harness = GatewayHarness()
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

    @Test func failuresOfProcessesAnswer500Or504() async throws {
        let harness = GatewayHarness()
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
