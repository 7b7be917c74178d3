import Foundation
import StratusModel
import Hummingbird
import HummingbirdTesting
import Logging
import StratusGateway
import StratusTestSupport
import Testing

/// A gateway over a fresh temporary data directory, driven in-process through Hummingbird's test client.
struct GatewayHarness {
    let directory: URL
    let credentials = Credentials(user: "admin", password: "s3cret")
    let maxRequestBytes: Int
    let maxArtifactBytes: Int
    var functionUser: String?
    var maxInflight = 1024
    /// Through a real server on a port (every connection's pipeline, the direct call path included)
    /// instead of straight into the router.
    let live: Bool

    init(maxRequestBytes: Int = 1024 * 1024, maxArtifactBytes: Int = 16 * 1024 * 1024, functionUser: String? = nil, live: Bool = false) {
        self.live = live
        self.functionUser = functionUser
        self.maxArtifactBytes = maxArtifactBytes
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-gw-\(UUID().uuidString)")
        self.maxRequestBytes = maxRequestBytes
    }

    func gateway() async throws -> Gateway {
        var configuration = GatewayConfiguration(dataDirectory: directory, maxRequestBytes: maxRequestBytes, maxArtifactBytes: maxArtifactBytes,
                                                 functionUser: functionUser)
        configuration.maxInflight = maxInflight
        // `make test` runs these tests a second time with STRATUS_WASM_ENGINE=wasmkit, as `stratus serve` reads it.
        configuration.wasmEngine = ProcessInfo.processInfo.environment["STRATUS_WASM_ENGINE"].flatMap { WasmEngineKind(rawValue: $0) }
        // Classic replicas run the built stratus binary as their launcher, as `stratus serve` does.
        configuration.launcherBinary = URL(fileURLWithPath: StratusBinary.path).deletingLastPathComponent().appendingPathComponent("stratus-launcher").path
        let gateway = try await Gateway(configuration: configuration, credentials: credentials, logger: Logger(label: "test"))
        try await gateway.restoreFunctions()
        return gateway
    }

    /// Runs `body` against a gateway started on this harness's data directory.
    func run(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let gateway = try await gateway()
        let app = gateway.buildApplication()
        do {
            try await app.test(live ? .live : .router) { client in try await body(client) }
        } catch {
            await gateway.shutdown()
            throw error
        }
        await gateway.shutdown()
    }

    var auth: HTTPFields {
        let token = Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
        return [.authorization: "Basic \(token)"]
    }

    func jsonAuth() -> HTTPFields {
        var fields = auth
        fields[.contentType] = "application/json"
        return fields
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }
}

extension TestClientProtocol {
    /// Uploads a fixture module under `name` and returns the status.
    @discardableResult
    func upload(_ harness: GatewayHarness, fixture: String, name: String) async throws -> TestResponse {
        let bytes = try WasmFixtures.bytes(fixture)
        return try await execute(uri: "/system/artifacts?name=\(name)", method: .post, headers: harness.auth, body: ByteBuffer(bytes: bytes))
    }

    /// Uploads and deploys a fixture as function `name`.
    func deploy(_ harness: GatewayHarness, fixture: String, as name: String, extra: String = "") async throws {
        let upload = try await upload(harness, fixture: fixture, name: "\(name):latest")
        #expect(upload.status == .created, "upload: \(String(buffer: upload.body))")
        let body = #"{"service": "\#(name)", "image": "\#(name):latest"\#(extra)}"#
        let deploy = try await execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: body))
        #expect(deploy.status == .accepted, "deploy: \(String(buffer: deploy.body))")
    }

    /// Waits until `/metrics` counts `count` started calls of `name` (the first holds its slot by then).
    func waitUntilStarted(_ name: String, count: Int) async throws {
        for _ in 0..<2000 {
            let text = String(buffer: try await execute(uri: "/metrics", method: .get).body)
            let prefix = #"gateway_function_invocation_started{function_name="\#(name)"} "#
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), Double(line.dropFirst(prefix.count)) ?? 0 >= Double(count) {
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("\(name) never had \(count) calls started")
    }

    func call(_ name: String, _ body: String = "", headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: "/function/\(name)", method: .post, headers: headers, body: ByteBuffer(string: body))
    }
}
