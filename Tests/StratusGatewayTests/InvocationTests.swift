import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `/function/{name}`: routing, headers, watchdog environment, and failures that leave the server healthy.
@Suite struct InvocationTests {
    @Test func invokesWithOpenFaaSHeadersAndPaths() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "env", as: "env", extra: #", "envVars": {"MY_VAR": "from-deploy"}"#)
            let response = try await client.execute(uri: "/function/env.openfaas-fn/some/path?q=1", method: .put,
                                                    headers: [.init("X-Test")!: "hello", .init("X-Call-Id")!: "call-42", .contentType: "text/plain"])
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text.contains("Http_Method=PUT"))
            #expect(text.contains("Http_Path=/some/path"))
            #expect(text.contains("Http_Query=q=1"))
            #expect(text.contains("Http_X_Test=hello"))
            #expect(text.contains("Http_Content_Type=text/plain"))
            #expect(text.contains("MY_VAR=from-deploy"))
            #expect(response.headers[.init("X-Call-Id")!] == "call-42")
            #expect(response.headers[.init("X-Start-Time")!] != nil)
            #expect(Double(response.headers[.init("X-Duration-Seconds")!] ?? "") != nil)
            let generated = try await client.call("env")
            #expect(generated.headers[.init("X-Call-Id")!]?.isEmpty == false)
        }
    }

    @Test func unknownFunctionsAre404() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            for name in ["missing", "Not-Valid!", "x.other-namespace"] {
                let response = try await client.call(name)
                #expect(response.status == .notFound, "\(name)")
            }
        }
    }

    @Test func contentTypeComesFromTheFunctionSettings() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "json", extra: #", "annotations": {"com.stratus.content-type": "application/json"}"#)
            let response = try await client.call("json", "{}")
            #expect(response.headers[.contentType] == "application/json")
        }
    }

    @Test func failuresAnswer500Or504AndTheServerKeepsServing() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo")
            try await client.deploy(harness, fixture: "trap", as: "trap")
            try await client.deploy(harness, fixture: "exit3", as: "exit3")
            try await client.deploy(harness, fixture: "loop", as: "loop", extra: #", "annotations": {"com.stratus.timeout": "300ms"}"#)
            try await client.deploy(harness, fixture: "grow", as: "grow", extra: #", "limits": {"memory": "16Mi"}"#)

            let trap = try await client.call("trap")
            #expect(trap.status == .internalServerError)
            #expect(String(buffer: trap.body).contains("trapped"))
            #expect(String(buffer: try await client.call("echo", "after trap").body) == "after trap")

            let exit = try await client.call("exit3")
            #expect(exit.status == .internalServerError)
            #expect(String(buffer: exit.body).contains("exited with code 3"))

            let loop = try await client.call("loop")
            #expect(loop.status == .gatewayTimeout)
            #expect(String(buffer: try await client.call("echo", "after loop").body) == "after loop")

            let grow = try await client.call("grow")
            #expect(grow.status == .internalServerError)
            #expect(String(buffer: try await client.call("echo", "after grow").body) == "after grow")
        }
    }

    @Test func requestBodiesOverTheLimitAre413() async throws {
        let harness = GatewayHarness(maxRequestBytes: 1024)
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo")
            let big = try await client.call("echo", String(repeating: "x", count: 4096))
            #expect(big.status == .contentTooLarge)
            #expect(String(buffer: try await client.call("echo", "small").body) == "small")
        }
    }
}

/// Deployed functions survive a restart of the gateway on the same data directory.
@Suite struct PersistenceTests {
    @Test func functionsSurviveARestart() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "keeper", extra: #", "envVars": {"A": "1"}"#)
        }
        try await harness.run { client in
            let response = try await client.call("keeper", "still here")
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == "still here")
            let one = try await client.execute(uri: "/system/function/keeper", method: .get, headers: harness.auth)
            #expect(String(buffer: one.body).contains(#""A":"1""#))
        }
    }
}
