import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The web UI's server side: embedded assets under /ui/, /system/stats, and the store.
@Suite struct UIServerTests {
    @Test func assetsAreServedAndTheRootRedirects() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let root = try await client.execute(uri: "/", method: .get)
            #expect(root.status == .found && root.headers[.location] == "/ui/")
            #expect(try await client.execute(uri: "/ui", method: .get).headers[.location] == "/ui/")
            let page = try await client.execute(uri: "/ui/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(String(buffer: page.body).lowercased().contains("<!doctype html"))
            #expect(page.headers[.init("Content-Security-Policy")!]?.contains("default-src 'self'") == true)
            #expect(try await client.execute(uri: "/ui/app.js", method: .get).headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(try await client.execute(uri: "/ui/style.css", method: .get).headers[.contentType] == "text/css; charset=utf-8")
            // The data is behind the API's credentials.
            #expect(try await client.execute(uri: "/system/stats", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/system/store", method: .get).status == .unauthorized)
        }
    }

    /// The served page, script and styles are Sources/StratusGateway/Resources/ui/'s files, byte for byte.
    @Test func servedAssetsAreTheFilesInResources() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/StratusGateway/Resources/ui")
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            for (uri, file) in [("/ui/", "index.html"), ("/ui/app.js", "app.js"), ("/ui/style.css", "style.css")] {
                let expected = [UInt8](try Data(contentsOf: folder.appendingPathComponent(file)))
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .ok)
                #expect([UInt8](buffer: response.body) == expected, "\(uri) differs from Resources/ui/\(file): rebuild")
            }
        }
    }

    @Test func statsCountCallsErrorsAndLatency() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo")
            try await client.deploy(harness, fixture: "exit3", as: "failing")
            for _ in 0..<4 { _ = try await client.call("echo", "hi") }
            _ = try await client.call("failing")
            let response = try await client.execute(uri: "/system/stats", method: .get, headers: harness.auth)
            let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            let functions = (object?["functions"] as? [[String: Any]]) ?? []
            let echo = try #require(functions.first { $0["name"] as? String == "echo" })
            #expect(echo["invocations"] as? Int == 4 && echo["errors"] as? Int == 0 && echo["runtime"] as? String == "wasm")
            #expect((echo["p50Ms"] as? Double ?? -1) >= 0 && (echo["p95Ms"] as? Double ?? -1) >= (echo["p50Ms"] as? Double ?? 0))
            #expect(((echo["series"] as? [[String: Any]]) ?? []).reduce(0) { $0 + ($1["calls"] as? Int ?? 0) } == 4)
            let failing = try #require(functions.first { $0["name"] as? String == "failing" })
            #expect(failing["errors"] as? Int == 1 && failing["errorRate"] as? Double == 1)
        }
    }

    @Test func theStoreBuildsAndDeploysHelloWithOneCall() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let list = try await client.execute(uri: "/system/store", method: .get, headers: harness.auth)
            for id in ["hello", "hello-c", "pycon", "classify"] { #expect(String(buffer: list.body).contains(#""id":"\#(id)""#)) }
            let deployed = try await client.execute(uri: "/system/store/hello", method: .post, headers: harness.auth)
            #expect(deployed.status == .accepted, "\(String(buffer: deployed.body))")
            #expect(String(buffer: try await client.call("hello", "Hi").body) == "Hello! You said: Hi")
            let pycon = try await client.execute(uri: "/system/store/pycon", method: .post, headers: harness.auth)
            #expect(pycon.status == .accepted, "\(String(buffer: pycon.body))")
            #expect(String(buffer: try await client.call("pycon", "Hi").body) == "Hello! You said: Hi\n")
            #expect(try await client.execute(uri: "/system/store/nope", method: .post, headers: harness.auth).status == .notFound)
        }
    }
}
