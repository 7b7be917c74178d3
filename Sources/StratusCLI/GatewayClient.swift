import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StratusGateway
import StratusModel

/// A small client for the gateway's HTTP API.
struct GatewayClient {
    let baseURL: String
    let credentials: Credentials?
    let trust: TLSTrust

    init(gateway: String, credentials: Credentials? = nil, trust: TLSTrust = .system) {
        baseURL = gateway
        self.credentials = credentials ?? AuthConfig.credentials(for: gateway)
        self.trust = trust
    }

    /// Sends `request` with the HTTP client for this gateway's TLS trust; an unreachable gateway is a `CLIError`.
    func execute(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> HTTPClientResponse {
        let client = try trust.client()
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw TLSTrust.unreachable(baseURL, error)
        }
    }

    struct Reply {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [], authenticate: Bool = true) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if authenticate, let credentials {
            let token = Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString()
            request.headers.replaceOrAdd(name: "Authorization", value: "Basic \(token)")
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await execute(request, timeout: .seconds(300))
        let collected = try await response.body.collect(upTo: 512 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(collected.readableBytesView))
    }

    /// Sends and fails with the server's message unless the status is 2xx.
    func expectSuccess(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Reply {
        let reply = try await send(method, path, body: body, headers: headers)
        guard (200..<300).contains(reply.status) else {
            if reply.status == 401 {
                throw CLIError("unauthorized (401) at \(baseURL): run `stratus login --gateway \(baseURL)` with the credentials `stratus serve` printed")
            }
            throw CLIError("\(method) \(path) failed with \(reply.status): \(reply.text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return reply
    }

    /// Sends `value` as a JSON body and fails with the server's message unless the status is 2xx.
    @discardableResult
    func sendJSON<T: Encodable>(_ method: HTTPMethod, _ path: String, _ value: T) async throws -> Reply {
        try await expectSuccess(method, path, body: Array(try JSONEncoder().encode(value)), headers: [("Content-Type", "application/json")])
    }

    func decode<T: Decodable>(_ type: T.Type, _ reply: Reply) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(type, from: Data(reply.body)) } catch {
            throw CLIError("unexpected answer from the gateway: \(error)")
        }
    }

    func functions(namespace: String? = nil) async throws -> [FunctionStatus] {
        try decode([FunctionStatus].self, try await expectSuccess(.GET, "/system/functions" + Self.namespaceQuery(namespace)))
    }

    /// `?namespace=NAME` when a namespace is given.
    static func namespaceQuery(_ namespace: String?) -> String {
        guard let namespace, !namespace.isEmpty else { return "" }
        return "?namespace=" + (namespace.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? namespace)
    }

    func uploadArtifact(_ bytes: [UInt8], name: String, model: Bool = false) async throws -> ArtifactUpload {
        let query = name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? name
        let reply = try await expectSuccess(.POST, "/system/artifacts?name=\(query)\(model ? "&kind=model" : "")", body: bytes,
                                            headers: [("Content-Type", model ? "application/octet-stream" : "application/wasm")])
        return try decode(ArtifactUpload.self, reply)
    }

    /// Sends a module's precompiled code (`.cwasm`) ahead of the module.
    func uploadPrecompiled(_ bytes: [UInt8]) async throws {
        _ = try await expectSuccess(.POST, "/system/artifacts?kind=compiled", body: bytes, headers: [("Content-Type", "application/octet-stream")])
    }

    /// Deploys like faas-cli: PUT (update), then POST when the function does not exist yet.
    func deploy(_ deployment: FunctionDeployment) async throws -> Bool {
        let body = Array(try JSONEncoder().encode(deployment))
        let headers = [("Content-Type", "application/json")]
        let update = try await send(.PUT, "/system/functions", body: body, headers: headers)
        if (200..<300).contains(update.status) { return false }
        guard update.status == 404 else {
            throw CLIError("deploying \(deployment.service) failed with \(update.status): \(update.text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        _ = try await expectSuccess(.POST, "/system/functions", body: body, headers: headers)
        return true
    }
}
