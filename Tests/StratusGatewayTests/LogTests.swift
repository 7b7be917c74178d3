import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import Testing

/// `GET /system/logs`: stderr and per-call lines, tail/since filters, bad queries, persistence.
@Suite struct LogTests {
    func logs(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ query: String) async throws -> (HTTPResponse.Status, [LogLine]) {
        let response = try await client.execute(uri: "/system/logs?\(query)", method: .get, headers: harness.auth)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let lines = String(buffer: response.body).split(separator: "\n").compactMap {
            try? decoder.decode(LogLine.self, from: Data($0.utf8))
        }
        return (response.status, lines)
    }

    @Test func perCallLinesAreLimitedToTwentyASecond() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "busy")
            let start = ContinuousClock.now
            for _ in 0..<150 { _ = try await client.call("busy", "x") }
            let seconds = Int(start.duration(to: .now).components.seconds) + 1
            let (_, lines) = try await logs(client, harness, "name=busy&tail=1000")
            let callLines = lines.filter { $0.text.hasPrefix("POST / - 200 - ContentLength: 1B") }
            // In `seconds` seconds (rounded up) the calls touch at most seconds + 1 clock seconds.
            #expect(!callLines.isEmpty && callLines.count <= 20 * (seconds + 1), "\(callLines.count) lines in \(seconds)s")
            let status = try await client.execute(uri: "/system/function/busy", method: .get, headers: harness.auth)
            #expect(String(buffer: status.body).contains(#""invocationCount":150"#), "every call is still counted")
        }
    }

    @Test func wasmStderrAndProcessCallLinesReachTheLog() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "stderr", as: "noisy")
            _ = try await client.call("noisy")
            _ = try await client.call("noisy")
            let (status, lines) = try await logs(client, harness, "name=noisy")
            #expect(status == .ok)
            // The guest's stderr, then one line per call with the method, path, status, size and time.
            #expect(lines.map(\.text).filter { !$0.hasPrefix("POST / - 200 - ContentLength: 2B (") } == ["log line", "log line"])
            #expect(lines.count == 4 && lines[1].text.hasPrefix("POST / - 200 - ContentLength: 2B (") && lines[1].text.hasSuffix("s)"), "\(lines)")
            #expect(lines.allSatisfy { $0.name == "noisy" && $0.namespace == "openfaas-fn" && $0.instance == "wasm" })

            let deployed = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                    body: ByteBuffer(string: #"{"service": "proc", "image": "i", "envProcess": "sh -c 'echo warn >&2; echo hello'"}"#))
            #expect(deployed.status == .accepted)
            _ = try await client.call("proc")
            let (_, processLines) = try await logs(client, harness, "name=proc")
            #expect(processLines.first?.text.hasPrefix("Forking fprocess") == true)
            #expect(processLines.contains { $0.text == "warn" })
            // The classic watchdog's line, then the summary line every kind of function writes.
            #expect(processLines.dropLast().last?.text.hasPrefix("Wrote 6 Bytes - Duration:") == true, "\(processLines)")
            #expect(processLines.last?.text.hasPrefix("POST / - 200 - ContentLength: 6B (") == true, "\(processLines)")

            let (_, last) = try await logs(client, harness, "name=noisy&tail=1")
            #expect(last.count == 1)
            let (_, future) = try await logs(client, harness, "name=noisy&since=2999-01-01T00:00:00Z")
            #expect(future.isEmpty)
        }
    }

    @Test func badQueriesAreRefused() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            #expect(try await logs(client, harness, "").0 == .badRequest)
            #expect(try await logs(client, harness, "name=ghost").0 == .notFound)
            try await client.deploy(harness, fixture: "echo", as: "echo")
            #expect(try await logs(client, harness, "name=echo&tail=three").0 == .badRequest)
            #expect(try await logs(client, harness, "name=echo&tail=-1").0 == .ok, "faas-cli's default")
            #expect(try await logs(client, harness, "name=echo&since=yesterday").0 == .badRequest)
            let unauthenticated = try await client.execute(uri: "/system/logs?name=echo", method: .get)
            #expect(unauthenticated.status == .unauthorized)
        }
    }

    @Test func logsSurviveARestart() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "stderr", as: "noisy")
            _ = try await client.call("noisy")
            _ = try await logs(client, harness, "name=noisy")
        }
        try await harness.run { client in
            let (_, lines) = try await logs(client, harness, "name=noisy")
            #expect(lines.first?.text == "log line" && lines.count == 2)
        }
    }
}
