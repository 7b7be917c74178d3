import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Whether bubblewrap works on this machine (`make test` installs it).
let bubblewrapWorks: Bool = {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/bwrap")
    probe.arguments = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--", "/bin/true"]
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
}()

/// Process functions in the bubblewrap sandbox: their secrets and nothing of Stratus's or other functions'.
@Suite(.enabled(if: bubblewrapWorks, "needs bubblewrap (apt-get install bubblewrap; make test does)"))
struct SandboxTests {
    func deploy(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ json: String) async throws {
        let response = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: json))
        #expect(response.status == .accepted, "\(String(buffer: response.body))")
    }

    @Test func functionsSeeTheirSecretsAsFiles() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let created = try await client.execute(uri: "/system/secrets", method: .post, headers: harness.jsonAuth(),
                                                   body: ByteBuffer(string: #"{"name": "api-key", "value": "open-sesame"}"#))
            #expect(created.status == .created)
            _ = try await client.execute(uri: "/system/secrets", method: .post, headers: harness.jsonAuth(),
                                         body: ByteBuffer(string: #"{"name": "other", "value": "not-yours"}"#))
            try await deploy(client, harness, #"{"service": "reader", "image": "i", "envProcess": "sh -c 'cat /var/openfaas/secrets/api-key; ls /var/openfaas/secrets'", "secrets": ["api-key"]}"#)
            let answer = try await client.call("reader")
            #expect(String(buffer: answer.body) == "open-sesameapi-key\n", "only the listed secret is there")
        }
    }

    @Test(.enabled(if: getuid() == 0, "the server drops to nobody only when it runs as root"))
    func functionsRunAsNobodyInHomeApp() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deploy(client, harness, #"{"service": "who", "image": "i", "envProcess": "sh -c 'id -u; pwd; touch /tmp/ok && echo tmp-writable'"}"#)
            let answer = String(buffer: try await client.call("who").body)
            #expect(answer == "65534\n/tmp\ntmp-writable\n", "\(answer)")
        }
    }

    @Test(.enabled(if: getuid() == 0, "only a server running as root switches users"))
    func theFunctionUserIsConfigurable() async throws {
        let harness = GatewayHarness(functionUser: "daemon")
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deploy(client, harness, #"{"service": "who", "image": "i", "envProcess": "id -u"}"#)
            #expect(String(buffer: try await client.call("who").body) == "1\n")
        }
    }

    @Test func functionsCannotReadTheDataDirectoryOtherFunctionsOrTheServersProc() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        let data = harness.directory.path
        try await harness.run { client in
            // Something readable in the data directory, so "cannot read it" is a real check.
            try Data("private-marker".utf8).write(to: harness.directory.appendingPathComponent("marker"))
            try await deploy(client, harness, #"{"service": "snoop", "image": "i", "envProcess": "sh -c 'ls -A \#(data) 2>/dev/null | wc -l; cat \#(data)/marker 2>/dev/null || echo no-marker; cat /proc/1/comm'"}"#)
            let answer = String(buffer: try await client.call("snoop").body)
            let lines = answer.split(separator: "\n").map(String.init)
            #expect(lines.first == "0", "the data directory looks empty inside: \(answer)")
            #expect(lines.contains("no-marker"))
            #expect(!answer.contains("private-marker"))
            #expect(lines.last != "StratusPackageT", "pid 1 is the sandbox's, not the server's: \(answer)")
        }
    }

    /// A classic replica is a launcher that forks each call inside the sandbox: every call is a new
    /// process (its own pid) that finds the private /tmp empty of what an earlier call left.
    @Test func eachCallIsAFreshProcessWithAnEmptyTmp() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deploy(client, harness, #"{"service": "scratch", "image": "i", "envProcess": "sh -c 'ls -A /tmp | grep -c left-behind; touch /tmp/left-behind; echo $$'"}"#)
            let first = String(buffer: try await client.call("scratch").body).split(separator: "\n")
            let second = String(buffer: try await client.call("scratch").body).split(separator: "\n")
            #expect(first.first == "0" && second.first == "0", "nothing left in /tmp from the call before: \(first) \(second)")
            #expect(first.count == 2 && second.count == 2 && first.last != second.last, "two processes: \(first) \(second)")
        }
    }

    /// A launcher that dies is started again; calls go on (one in flight when it died may fail).
    @Test func aKilledLauncherIsReplaced() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let marker = "launcher-\(UUID().uuidString.prefix(8))"
            try await deploy(client, harness, #"{"service": "sturdy", "image": "i", "envProcess": "sh -c 'echo \#(marker) > /dev/null; echo up'"}"#)
            #expect(String(buffer: try await client.call("sturdy").body) == "up\n")
            let launchers = Self.processes { $0.contains("stratus-launcher") && $0.contains(marker) && !$0.contains("bwrap") }
            #expect(launchers.count == 1, "one launcher: \(launchers)")
            for pid in launchers { kill(pid, SIGKILL) }
            var answers: [String] = []
            for _ in 0..<100 {
                let answer = try await client.call("sturdy")
                answers.append("\(answer.status.code) \(String(buffer: answer.body))")
                if answer.status == .ok { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(answers.last == "200 up\n", "\(answers)")
        }
    }

    /// Processes whose command line (arguments joined by spaces) matches.
    static func processes(_ matching: (String) -> Bool) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            return matching(line) ? pid : nil
        }
    }
}
