import Foundation
import Hummingbird
import StratusModel
import StratusStore

/// The namespaces functions and secrets live in, managed as faas-cli 0.16's `namespace` commands do:
/// `GET /system/namespaces` (names), `GET/PUT/DELETE /system/namespace/NAME`, `POST /system/namespace/`
/// (an OpenFaaS `FunctionNamespace`, labelled and annotated `openfaas: "1"` as OpenFaaS requires).
/// The default namespace cannot be removed; a namespace with functions or secrets in it neither (409).
struct NamespaceHandlers {
    let dependencies: Dependencies

    func register(on group: RouterGroup<StratusRequestContext>) {
        let gate = dependencies.managementGate
        group.get("namespaces") { _, _ in try await list() }
        group.get("namespace/{namespace}") { _, context in try await describe(context.parameters.get("namespace") ?? "") }
        // faas-cli posts to `/system/namespace/`; the router takes it with or without the slash.
        group.post("namespace") { request, _ in try await gate.run { try await create(request) } }
        group.put("namespace/{namespace}") { request, context in
            try await gate.run { try await update(request, name: context.parameters.get("namespace") ?? "") }
        }
        group.delete("namespace/{namespace}") { _, context in
            try await gate.run { try await remove(context.parameters.get("namespace") ?? "") }
        }
    }

    /// Throws 404 (or `status`) when `namespace` does not exist.
    static func mustExist(_ namespace: String, in store: any NamespaceStore, status: HTTPResponse.Status = .notFound) async throws {
        let found: FunctionNamespace?
        do { found = try await store.namespace(named: namespace) } catch { throw GatewayError.from(error) }
        guard found == nil else { return }
        throw GatewayError(status, ModelError.unknownNamespace(namespace).description)
    }

    func list() async throws -> Response {
        let namespaces: [FunctionNamespace]
        do { namespaces = try await dependencies.namespaces.namespaces() } catch { throw GatewayError.from(error) }
        return try JSON.response(namespaces.map(\.name))
    }

    func describe(_ name: String) async throws -> Response {
        let found: FunctionNamespace?
        do { found = try await dependencies.namespaces.namespace(named: name) } catch { throw GatewayError.from(error) }
        guard let found else { throw GatewayError.notFound("namespace \(name) not found") }
        return try JSON.response(found)
    }

    func create(_ request: Request) async throws -> Response {
        let body = try await decode(request)
        let created: Bool
        do { created = try await dependencies.namespaces.createNamespace(body) } catch { throw GatewayError.from(error) }
        guard created else { throw GatewayError(.conflict, "namespace '\(body.name)' already exists") }
        dependencies.logger.info("namespace created", metadata: ["namespace": "\(body.name)"])
        return Response(status: .created)
    }

    func update(_ request: Request, name: String) async throws -> Response {
        var body = try await decode(request, name: name)
        body.name = name
        let updated: Bool
        do { updated = try await dependencies.namespaces.updateNamespace(body) } catch { throw GatewayError.from(error) }
        guard updated else { throw GatewayError.notFound("namespace \(name) not found") }
        dependencies.logger.info("namespace updated", metadata: ["namespace": "\(name)"])
        return Response(status: .accepted)
    }

    func remove(_ name: String) async throws -> Response {
        guard name != FunctionName.defaultNamespace else {
            throw GatewayError.badRequest("namespace '\(name)' is the default namespace and cannot be removed")
        }
        let outcome: NamespaceRemoval
        do { outcome = try await dependencies.namespaces.removeNamespace(named: name) } catch { throw GatewayError.from(error) }
        switch outcome {
        case .removed:
            dependencies.logger.info("namespace removed", metadata: ["namespace": "\(name)"])
            return Response(status: .accepted)
        case .notFound:
            throw GatewayError.notFound("namespace \(name) not found")
        case .inUse(let inside):
            throw GatewayError(.conflict, "namespace '\(name)' is not empty (\(inside.joined(separator: ", "))): remove its functions and secrets first")
        }
    }

    /// The request's `FunctionNamespace`, its name checked (the path's, when the body names none).
    private func decode(_ request: Request, name: String? = nil) async throws -> FunctionNamespace {
        var body = try JSON.decode(FunctionNamespace.self, from: try await request.collectBody(limit: 64 * 1024),
                                   what: "namespace ({\"name\": \"…\", \"labels\": {…}, \"annotations\": {…}})")
        if body.name.isEmpty, let name { body.name = name }
        if let name, body.name != name {
            throw GatewayError.badRequest("the body names namespace '\(body.name)' but the path '\(name)'")
        }
        if let problem = FunctionName.problem(with: body.name) {
            throw GatewayError.from(ModelError.invalidNamespace(body.name, problem))
        }
        return body
    }
}
