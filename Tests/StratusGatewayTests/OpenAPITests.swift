import Foundation
import Hummingbird
import HummingbirdTesting
import StratusGateway
import Testing
import Yams

/// docs/openapi.yaml describes exactly the routes the server registers, it is what the server
/// serves, and every `/system/*` route refuses callers without the right credentials.
@Suite struct OpenAPITests {
    static let documentURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/openapi.yaml")

    /// "METHOD /path" for every registered route, `**` written as OpenAPI's `{path}`.
    static func registeredRoutes() async throws -> Set<String> {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        let gateway = try await harness.gateway()
        let router = gateway.buildRouter()
        await gateway.shutdown()
        var routes = Set<String>()
        for route in router.routes {
            var path = route.path.description
            if !path.hasPrefix("/") { path = "/" + path }
            path = path.replacingOccurrences(of: "/**", with: "/{path}")
            routes.insert("\(route.method.rawValue) \(path)")
        }
        return routes
    }

    static func describedRoutes() throws -> Set<String> {
        let text = try String(contentsOf: documentURL, encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var routes = Set<String>()
        let methods = ["get", "put", "post", "delete", "options", "head", "patch"]
        for (path, item) in paths {
            for method in methods where (item as? [String: Any])?[method] != nil { routes.insert("\(method.uppercased()) \(path)") }
        }
        return routes
    }

    @Test func everyRouteIsDescribedAndEveryDescriptionIsARoute() async throws {
        let registered = try await Self.registeredRoutes()
        let described = try Self.describedRoutes()
        #expect(registered.count > 40, "\(registered.sorted())")
        #expect(registered.subtracting(described).isEmpty, "registered but not in docs/openapi.yaml: \(registered.subtracting(described).sorted())")
        #expect(described.subtracting(registered).isEmpty, "in docs/openapi.yaml but not registered: \(described.subtracting(registered).sorted())")
    }

    @Test func theServerServesTheDocument() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        let file = try String(contentsOf: Self.documentURL, encoding: .utf8)
        try await harness.run { client in
            let response = try await client.execute(uri: "/system/openapi.yaml", method: .get, headers: harness.auth)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
            #expect(String(buffer: response.body) == file, "the binary embeds docs/openapi.yaml: rebuild")
        }
    }

    /// The gateway embeds docs/openapi.yaml through a link in its Resources/: one copy to edit, none to forget.
    @Test func theEmbeddedDocumentIsALinkToDocs() throws {
        let link = Self.documentURL.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/StratusGateway/Resources/openapi.yaml")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "../../../docs/openapi.yaml")
    }

    /// Found by schemathesis: `/healthz` answered without a Content-Type.
    @Test func healthzSaysWhatItAnswers() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok && String(buffer: response.body) == "OK")
            #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
        }
    }

    /// The route table, walked: `/system/*` needs credentials (none and wrong ones get 401 before
    /// any handler runs); everything else is one of the routes meant to be public.
    @Test func everySystemRouteNeedsCredentials() async throws {
        let routes = try await Self.registeredRoutes()
        let publicRoutes: [String] = ["/", "/healthz", "/metrics", "/ui", "/ui/app.js", "/ui/style.css", "/function/", "/async-function/", "/sites/"]
        for route in routes {
            let path = String(route.split(separator: " ")[1])
            if !path.hasPrefix("/system/") {
                #expect(publicRoutes.contains { path == $0 || ($0.hasSuffix("/") && path.hasPrefix($0)) }, "unexpected public route \(route)")
            }
        }
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        let wrong: HTTPFields = [.authorization: "Basic " + Data("admin:wrong".utf8).base64EncodedString()]
        let garbage: HTTPFields = [.authorization: "Basic !!!not-base64"]
        let system = routes.filter { $0.contains(" /system/") }.sorted()
        try await harness.run { client in
            for route in system {
                let parts = route.split(separator: " ")
                let uri = String(parts[1]).replacingOccurrences(of: "{name}", with: "x").replacingOccurrences(of: "{id}", with: "x")
                    .replacingOccurrences(of: "{version}", with: "1")
                for headers in [HTTPFields(), wrong, garbage] {
                    let response = try await client.execute(uri: uri, method: HTTPRequest.Method(String(parts[0]))!, headers: headers,
                                                            body: ByteBuffer(string: "{}"))
                    #expect(response.status == .unauthorized, "\(route) with \(headers): \(response.status)")
                    #expect(response.headers[.wwwAuthenticate]?.contains("Basic") == true)
                }
            }
        }
    }
}
