import Foundation
import Hummingbird
import HummingbirdTesting
import StratusTestSupport
import Testing

/// Static sites: `PUT /system/sites/{name}` with a tar.gz, served without credentials under `/sites/{name}/`.
@Suite struct SiteTests {
    /// A folder with `files` (relative path → contents), packed as tar.gz the way `stratus site deploy` does.
    static func archive(_ files: [String: String], links: [String: String] = [:], tarArguments: [String] = ["."]) throws -> [UInt8] {
        try Tarball.make(files, links: links, tarArguments: tarArguments)
    }

    static let page = [
        "index.html": "<h1>Hello site</h1>",
        "css/style.css": "h1 { color: red }",
        "docs/index.html": "<p>docs</p>",
        "app.js": "console.log('hi')",
    ]

    func put(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ name: String, _ bytes: [UInt8]) async throws -> TestResponse {
        try await client.execute(uri: "/system/sites/\(name)", method: .put, headers: harness.auth, body: ByteBuffer(bytes: bytes))
    }

    @Test func deployServeReplaceAndRemove() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let created = try await put(client, harness, "demo", try Self.archive(Self.page))
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let status = String(buffer: created.body)
            #expect(status.contains(#""files":4"#) && status.contains(#""url":"\/sites\/demo\/""#), "\(status)")

            // Served without credentials; a folder without its slash redirects so relative links resolve.
            let bare = try await client.execute(uri: "/sites/demo", method: .get)
            #expect(bare.status == .movedPermanently && bare.headers[.location] == "/sites/demo/")
            let index = try await client.execute(uri: "/sites/demo/", method: .get)
            #expect(index.status == .ok && String(buffer: index.body) == "<h1>Hello site</h1>")
            #expect(index.headers[.contentType] == "text/html; charset=utf-8")
            let css = try await client.execute(uri: "/sites/demo/css/style.css", method: .get)
            #expect(String(buffer: css.body) == "h1 { color: red }" && css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(try await client.execute(uri: "/sites/demo/app.js", method: .get).headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(try await client.execute(uri: "/sites/demo/docs", method: .get).headers[.location] == "/sites/demo/docs/")
            #expect(String(buffer: try await client.execute(uri: "/sites/demo/docs/", method: .get).body) == "<p>docs</p>")
            let head = try await client.execute(uri: "/sites/demo/", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
            let etag = try #require(index.headers[.eTag])
            #expect(try await client.execute(uri: "/sites/demo/", method: .get, headers: [.ifNoneMatch: etag]).status == .notModified)

            // Nothing outside the site, and clear 404s.
            for path in ["/sites/demo/missing.html", "/sites/demo/%2e%2e/%2e%2e/stratus.db", "/sites/demo/..%2Fstratus.db", "/sites/other/"] {
                #expect(try await client.execute(uri: path, method: .get).status == .notFound, "\(path)")
            }
            #expect(try await client.execute(uri: "/sites/demo/", method: .post).status != .ok, "sites are read-only")

            // Replacing answers 200 and serves the new files; the ETag changes with the content.
            let replaced = try await put(client, harness, "demo", try Self.archive(["index.html": "v2"]))
            #expect(replaced.status == .ok)
            let second = try await client.execute(uri: "/sites/demo/", method: .get)
            #expect(String(buffer: second.body) == "v2" && second.headers[.eTag] != etag)
            #expect(try await client.execute(uri: "/sites/demo/css/style.css", method: .get).status == .notFound)

            let list = try await client.execute(uri: "/system/sites", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body).contains(#""name":"demo""#))
            #expect(try await client.execute(uri: "/system/sites", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/system/sites/demo", method: .put, body: ByteBuffer(bytes: try Self.archive(Self.page))).status == .unauthorized)

            #expect(try await client.execute(uri: "/system/sites/demo", method: .delete, headers: harness.auth).status == .noContent)
            #expect(try await client.execute(uri: "/system/sites/demo", method: .delete, headers: harness.auth).status == .notFound)
            #expect(try await client.execute(uri: "/sites/demo/", method: .get).status == .notFound)
        }
        // Nothing unpacked is left behind once no site uses it.
        let unpacked = try FileManager.default.contentsOfDirectory(atPath: harness.directory.appendingPathComponent("sites").path)
        #expect(unpacked.isEmpty, "\(unpacked)")
    }

    @Test func badArchivesAreRefusedAndChangeNothing() async throws {
        let harness = GatewayHarness(maxArtifactBytes: 64 * 1024)
        defer { harness.cleanUp() }
        try await harness.run { client in
            #expect(try await put(client, harness, "ok", try Self.archive(["index.html": "kept"])).status == .created)
            let cases: [(String, [UInt8], String)] = [
                ("empty body", [], "empty body"),
                ("not gzip", Array("<html>".utf8), "gzip'd tar"),
                ("gzip, not tar", [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00], "invalid site archive"),
                ("no index.html", try Self.archive(["about.html": "x"]), "no index.html"),
                ("a symbolic link", try Self.archive(["index.html": "x"], links: ["leak": "/etc/passwd"]), "is a link"),
                ("an entry outside", try Self.archive(["index.html": "x"], tarArguments: ["-P", "--transform=s,^\\./,../,", "."]), "outside"),
            ]
            for (what, bytes, message) in cases {
                let response = try await put(client, harness, "ok", bytes)
                #expect(response.status == .badRequest, "\(what): \(response.status)")
                #expect(String(buffer: response.body).contains(message), "\(what): \(String(buffer: response.body))")
            }
            let tooBig = try await put(client, harness, "ok", (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
            #expect(tooBig.status == .contentTooLarge)
            let page = try Self.archive(Self.page)
            for name in ["UPPER", "a.b", "-x"] {
                let response = try await put(client, harness, name, page)
                #expect(response.status == .badRequest, "\(name)")
            }
            // The site deployed first still serves what it did.
            #expect(String(buffer: try await client.execute(uri: "/sites/ok/", method: .get).body) == "kept")
            let list = String(buffer: try await client.execute(uri: "/system/sites", method: .get, headers: harness.auth).body)
            #expect(list.contains(#""name":"ok""#) && list.components(separatedBy: #""name""#).count == 2, "\(list)")
        }
    }

    @Test func sitesSurviveARestart() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let created = try await put(client, harness, "persisted", try Self.archive(Self.page))
            #expect(created.status == .created)
        }
        // Even with the unpacked copy gone, the stored archive brings it back.
        try FileManager.default.removeItem(at: harness.directory.appendingPathComponent("sites"))
        try await harness.run { client in
            let css = try await client.execute(uri: "/sites/persisted/css/style.css", method: .get)
            #expect(css.status == .ok && String(buffer: css.body) == "h1 { color: red }")
        }
    }

    @Test func aFunctionsSiteGoesWithIt() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let site = try await put(client, harness, "echo", try Self.archive(Self.page))
            let digest = try #require(String(buffer: site.body).split(separator: "\"").first { $0.hasPrefix("sha256:") })
            try await client.deploy(harness, fixture: "echo", as: "echo", extra: #", "annotations": {"com.stratus.site": "\#(digest)"}"#)
            #expect(try await put(client, harness, "standalone", try Self.archive(Self.page)).status == .created)
            try await client.deploy(harness, fixture: "echo", as: "standalone")

            for name in ["echo", "standalone"] {
                let removed = try await client.execute(uri: "/system/functions", method: .delete, headers: harness.jsonAuth(),
                                                       body: ByteBuffer(string: #"{"functionName": "\#(name)"}"#))
                #expect(removed.status == .ok)
            }
            #expect(try await client.execute(uri: "/sites/echo/", method: .get).status == .notFound, "deployed with the function")
            #expect(try await client.execute(uri: "/sites/standalone/", method: .get).status == .ok, "deployed on its own")
        }
    }
}
