import Foundation
import Hummingbird
import HummingbirdTesting
@testable import StratusGateway
import Testing

/// `GET /metrics`: Prometheus text with the OpenFaaS gateway's series; invocation counts are the same counters.
@Suite struct MetricsTests {
    /// The value of the sample line starting with `prefix` (name and labels), or nil.
    static func sample(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func invocationsAreCountedTimedAndScrapedInPrometheusFormat() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo")
            try await client.deploy(harness, fixture: "exit3", as: "failing")
            for _ in 0..<3 { #expect(try await client.call("echo", "hi").status == .ok) }
            #expect(try await client.call("failing").status == .internalServerError)

            let scrape = try await client.execute(uri: "/metrics", method: .get)
            #expect(scrape.status == .ok, "served without credentials, like OpenFaaS's gateway")
            #expect(scrape.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: scrape.body)
            #expect(Self.sample(text, #"gateway_function_invocation_total{function_name="echo",code="200"}"#) == 3, "\(text)")
            #expect(Self.sample(text, #"gateway_function_invocation_total{function_name="failing",code="500"}"#) == 1)
            #expect(Self.sample(text, #"gateway_function_invocation_started{function_name="echo"}"#) == 3)
            #expect(Self.sample(text, #"gateway_functions_seconds_count{function_name="echo",code="200"}"#) == 3)
            #expect(text.contains(#"gateway_functions_seconds_bucket{function_name="echo",code="200",le="+Inf"} 3"#))
            #expect(Self.sample(text, #"gateway_service_count{function_name="echo"}"#) == 1)
            #expect(Self.sample(text, #"stratus_async_queue_depth{state="pending"}"#) == 0)
            #expect(text.contains("# TYPE gateway_functions_seconds histogram"))
            #expect((Self.sample(text, #"stratus_cold_starts_total{function_name="echo"}"#) ?? 0) <= 3)

            // FunctionStatus.invocationCount is the same count.
            let status = try await client.execute(uri: "/system/function/echo", method: .get, headers: harness.auth)
            #expect(String(buffer: status.body).contains(#""invocationCount":3"#), "\(String(buffer: status.body))")
        }
    }

    /// Two limits, one harness: `max_inflight` 1 (with a 100 ms wait) and a server-wide cap of 2.
    /// The slow calls wait for a gate file the test creates once its checks are done, so the checks
    /// never depend on how busy the machine is (a fixed sleep ran out on a loaded CI machine).
    @Test func overMaxInflightCallsWaitThen429AndOverTheServerWideLimitThey503() async throws {
        var settings = GatewayHarness()
        settings.maxInflight = 2
        let harness = settings
        defer { harness.cleanUp() }
        // Outside /tmp and the data directory: the sandbox shows the rest of the system read-only.
        let gate = "/var/tmp/stratus-gate-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: gate) }
        try await harness.run { client in
            for name in ["limited", "other"] {
                let deploy = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"""
                    {"service": "\#(name)", "image": "i", "envProcess": "sh -c 'for i in $(seq 1200); do [ -e \#(gate) ] && break; sleep 0.1; done; echo done'", "envVars": {"max_inflight": "1"},
                     "annotations": {"com.stratus.queue-wait": "100ms", "com.stratus.timeout": "180s"}}
                    """#))
                #expect(deploy.status == .accepted)
            }
            async let first = client.call("limited")
            try await client.waitUntilStarted("limited", count: 1)
            let waited = try await client.call("limited")
            #expect(waited.status == .tooManyRequests, "max_inflight 1, waited 100 ms: \(waited.status)")

            async let second = client.call("other")
            try await client.waitUntilStarted("other", count: 1)
            let turnedAway = try await client.call("other")
            #expect(turnedAway.status == .serviceUnavailable && turnedAway.headers[.retryAfter] == "1", "\(turnedAway.status)")
            #expect(String(buffer: turnedAway.body).contains("limit of 2 calls"))

            FileManager.default.createFile(atPath: gate, contents: nil)
            #expect(String(buffer: try await first.body) == "done\n")
            #expect(String(buffer: try await second.body) == "done\n")
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(Self.sample(metrics, #"gateway_function_invocation_total{function_name="limited",code="429"}"#) == 1, "\(metrics)")
        }
    }

    /// A cluster node's samples carry its name; comments and the text's shape are left as they were.
    @Test func aClusterNodesSamplesCarryItsName() {
        let text = """
            # HELP calls Calls
            # TYPE calls counter
            calls{function_name="echo",code="200"} 3
            up 1
            bucket{le="0.5"} 2

            """
        let labelled = String(decoding: GatewayMetrics.labelled(Array(text.utf8), node: #"node-"a""#), as: UTF8.self)
        #expect(labelled == """
            # HELP calls Calls
            # TYPE calls counter
            calls{node="node-\\"a\\"",function_name="echo",code="200"} 3
            up{node="node-\\"a\\""} 1
            bucket{node="node-\\"a\\"",le="0.5"} 2

            """)
    }
}
