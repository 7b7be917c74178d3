import Foundation
import Hummingbird
import StratusModel
import StratusStore

/// `GET/POST/PUT/DELETE /system/secrets` with OpenFaaS semantics: a secret lives in a namespace
/// (`?namespace=` or the body's `namespace`, the default namespace when absent); values are never
/// echoed or logged.
struct SecretHandlers {
    let dependencies: Dependencies
    let secrets: any SecretStore

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.get("secrets") { request, _ in try await list(namespace: request.uri.queryParameters.get("namespace")) }
        group.post("secrets") { request, _ in try await write(request, create: true) }
        group.put("secrets") { request, _ in try await write(request, create: false) }
        group.delete("secrets") { request, _ in try await delete(request) }
    }

    func list(namespace: String?) async throws -> Response {
        let namespace = namespace.flatMap { $0.isEmpty ? nil : $0 } ?? FunctionName.defaultNamespace
        try await NamespaceHandlers.mustExist(namespace, in: dependencies.namespaces)
        let names: [String]
        do { names = try await secrets.secretNames(namespace: namespace) } catch { throw GatewayError.from(error) }
        return try JSON.response(names.map { ["name": $0, "namespace": namespace] })
    }

    func write(_ request: Request, create: Bool) async throws -> Response {
        let body = try JSON.decode(SecretRequest.self, from: try await request.collectBody(limit: 1024 * 1024), what: "secret")
        let name = try parse(body)
        if create { try await NamespaceHandlers.mustExist(name.namespace, in: dependencies.namespaces, status: .badRequest) }
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
                ? GatewayError(.conflict, "secret '\(name)' already exists in namespace '\(name.namespace)': update it with PUT (stratus secret update)")
                : GatewayError.notFound("secret '\(name)' not found in namespace '\(name.namespace)': create it with POST (stratus secret create)")
        }
        dependencies.logger.info(create ? "secret created" : "secret updated", metadata: ["secret": "\(name)", "namespace": "\(name.namespace)"])
        return Response(status: create ? .created : .ok)
    }

    func delete(_ request: Request) async throws -> Response {
        let body = try JSON.decode(SecretRequest.self, from: try await request.collectBody(limit: 64 * 1024), what: "secret")
        let name = try parse(body)
        let removed: Bool
        do { removed = try await secrets.removeSecret(name) } catch { throw GatewayError.from(error) }
        guard removed else { throw GatewayError.notFound("secret '\(name)' not found in namespace '\(name.namespace)'") }
        dependencies.logger.info("secret removed", metadata: ["secret": "\(name)", "namespace": "\(name.namespace)"])
        return Response(status: .ok)
    }

    private func parse(_ body: SecretRequest) throws -> SecretName {
        let namespace = body.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? FunctionName.defaultNamespace
        do { return try SecretName(body.name, namespace: namespace) } catch { throw GatewayError.from(error) }
    }
}
