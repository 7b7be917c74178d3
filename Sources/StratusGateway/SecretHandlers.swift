import Foundation
import Hummingbird
import StratusModel
import StratusStore

/// `GET/POST/PUT/DELETE /system/secrets` with OpenFaaS semantics; values are never echoed or logged.
struct SecretHandlers {
    let dependencies: Dependencies
    let secrets: any SecretStore

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.get("secrets") { _, _ in try await list() }
        group.post("secrets") { request, _ in try await write(request, create: true) }
        group.put("secrets") { request, _ in try await write(request, create: false) }
        group.delete("secrets") { request, _ in try await delete(request) }
    }

    func list() async throws -> Response {
        let names: [String]
        do { names = try await secrets.secretNames() } catch { throw GatewayError.from(error) }
        return try JSON.response(names.map { ["name": $0] })
    }

    func write(_ request: Request, create: Bool) async throws -> Response {
        let body = try JSON.decode(SecretRequest.self, from: try await request.collectBody(limit: 1024 * 1024), what: "secret")
        let name = try parse(body.name)
        let value: [UInt8]
        switch (body.value, body.rawValue) {
        case (let text?, nil): value = Array(text.utf8)
        case (nil, let base64?):
            guard let data = Data(base64Encoded: base64) else { throw GatewayError.badRequest("rawValue must be base64") }
            value = Array(data)
        case (nil, nil): throw GatewayError.badRequest("give the secret's value in 'value' (text) or 'rawValue' (base64)")
        case (_?, _?): throw GatewayError.badRequest("give either 'value' or 'rawValue', not both")
        }
        let changed: Bool
        do {
            changed = create ? try await secrets.createSecret(name, value: value) : try await secrets.updateSecret(name, value: value)
        } catch {
            throw GatewayError.from(error)
        }
        guard changed else {
            throw create
                ? GatewayError(.conflict, "secret '\(name)' already exists: update it with PUT (stratus secret update)")
                : GatewayError.notFound("secret '\(name)' not found: create it with POST (stratus secret create)")
        }
        dependencies.logger.info(create ? "secret created" : "secret updated", metadata: ["secret": "\(name)"])
        return Response(status: create ? .created : .ok)
    }

    func delete(_ request: Request) async throws -> Response {
        let body = try JSON.decode(SecretRequest.self, from: try await request.collectBody(limit: 64 * 1024), what: "secret")
        let name = try parse(body.name)
        let removed: Bool
        do { removed = try await secrets.removeSecret(name) } catch { throw GatewayError.from(error) }
        guard removed else { throw GatewayError.notFound("secret '\(name)' not found") }
        dependencies.logger.info("secret removed", metadata: ["secret": "\(name)"])
        return Response(status: .ok)
    }

    private func parse(_ raw: String) throws -> SecretName {
        do { return try SecretName(raw) } catch { throw GatewayError.from(error) }
    }
}
