import Foundation
import Hummingbird
import StratusInvoker
import StratusModel
import StratusStore

/// Versions, aliases and timer triggers (Stratus extensions, under `/system`, behind its basic auth):
///
/// - `POST /system/function/{name}/versions` publishes the function as deployed now as its next version;
///   `GET` lists them; `DELETE …/versions/{n}` removes one (409 while an alias routes to it).
/// - `PUT /system/function/{name}/aliases/{alias}` `{"routes": [{"version": 3, "weight": 90}, …]}` sets an
///   alias; `GET …/aliases` lists them; `DELETE …/aliases/{alias}` removes one.
/// - `GET /system/triggers`: every timer trigger with its next tick and last run.
struct VersionHandlers {
    let dependencies: Dependencies
    let versions: any VersionStore
    let timers: TimerScheduler

    func register(on group: RouterGroup<StratusRequestContext>) {
        let gate = dependencies.managementGate
        group.post("function/{name}/versions") { request, context in
            let name = try parseName(context, request)
            return try await gate.run { try await publish(request, name: name) }
        }
        group.get("function/{name}/versions") { request, context in
            try JSON.response(try await versionStatuses(try parseName(context, request), mustExist: true))
        }
        group.delete("function/{name}/versions/{version}") { request, context in
            let name = try parseName(context, request)
            let text = context.parameters.get("version") ?? ""
            guard let number = Int(text), number > 0 else { throw GatewayError.notFound("version '\(text)' of '\(name)' not found: versions are numbers from 1") }
            return try await gate.run { try await removeVersion(name, number) }
        }
        group.get("function/{name}/aliases") { request, context in
            let name = try parseName(context, request)
            try await mustExist(name)
            return try JSON.response(try await aliases(of: name).map(AliasStatus.init))
        }
        group.put("function/{name}/aliases/{alias}") { request, context in
            let name = try parseName(context, request)
            let alias = context.parameters.get("alias") ?? ""
            return try await gate.run { try await setAlias(request, name: name, alias: alias) }
        }
        group.delete("function/{name}/aliases/{alias}") { request, context in
            let name = try parseName(context, request)
            let alias = context.parameters.get("alias") ?? ""
            return try await gate.run { try await removeAlias(name, alias) }
        }
        group.get("triggers") { request, _ in
            let namespace = request.uri.queryParameters.get("namespace").flatMap { $0.isEmpty ? nil : $0 }
            let all: [TriggerStatus]
            do throws(StoreError) { all = try await timers.statuses() } catch { throw GatewayError.from(error) }
            return try JSON.response(namespace.map { ns in all.filter { $0.namespace == ns } } ?? all)
        }
    }

    private func parseName(_ context: StratusRequestContext, _ request: Request) throws -> FunctionName {
        let raw = context.parameters.get("name") ?? ""
        do { return try FunctionName(parsing: raw, namespace: request.uri.queryParameters.get("namespace")) } catch {
            throw GatewayError.notFound("function '\(raw)' not found: \(error)")
        }
    }

    private func mustExist(_ name: FunctionName) async throws {
        let spec: FunctionSpec?
        do { spec = try await dependencies.registry.function(named: name) } catch { throw GatewayError.from(error) }
        guard spec != nil else { throw GatewayError.notFound("function '\(name)' not found") }
    }

    private func aliases(of name: FunctionName) async throws -> [FunctionAlias] {
        do { return try await versions.allAliases().filter { $0.function == name } } catch { throw GatewayError.from(error) }
    }

    /// Freezes the deployment, runs the version beside `$LATEST`, and only then answers 201.
    func publish(_ request: Request, name: FunctionName) async throws -> Response {
        let buffer = try await request.collectBody(limit: 64 * 1024)
        let body = buffer.readableBytes == 0 ? PublishRequest(description: nil)
            : try JSON.decode(PublishRequest.self, from: buffer, what: "publish request ({\"description\": \"…\"})")
        let version: FunctionVersion
        do {
            guard let published = try await versions.publishVersion(of: name, description: body.description ?? "", now: Date()) else {
                throw GatewayError.notFound("function '\(name)' not found: deploy it first, then publish it")
            }
            version = published
        } catch let error as StoreError {
            throw GatewayError.from(error)
        }
        do {
            try await dependencies.invoker.deploy(try await dependencies.planner.plan(version.spec), waitUntilReady: false)
        } catch {
            // It deployed as $LATEST a moment ago; a version that cannot run is not kept.
            _ = try? await versions.removeVersion(of: name, version.version)
            throw (error as? GatewayError) ?? GatewayError(.internalServerError, "version \(version.version) of '\(name)' cannot start: \(error)")
        }
        dependencies.logger.info("function version published", metadata: [
            "function": "\(name)", "version": "\(version.version)", "digest": "\(version.spec.artifact?.description ?? version.spec.image)",
        ])
        let status = try await versionStatuses(name, mustExist: false).first { $0.version == version.version }
        return try JSON.response(status, status: .created)
    }

    func versionStatuses(_ name: FunctionName, mustExist check: Bool) async throws -> [VersionStatus] {
        if check { try await mustExist(name) }
        let all: [FunctionVersion]
        do { all = try await versions.versions(of: name) } catch { throw GatewayError.from(error) }
        let aliases = try await aliases(of: name)
        return Self.statuses(all, aliases: aliases, dependencies: dependencies)
    }

    static func statuses(_ versions: [FunctionVersion], aliases: [FunctionAlias], dependencies: Dependencies) -> [VersionStatus] {
        versions.map { version in
            let replicas = dependencies.invoker.replicas(version.spec.name)
            var weights: [String: Int] = [:]
            for alias in aliases {
                if let route = alias.routes.first(where: { $0.version == version.version }) { weights[alias.name] = route.weight }
            }
            return VersionStatus(version: version.version, description: version.description,
                                 digest: version.spec.imageDigest?.description ?? version.spec.artifact?.description, image: version.spec.image,
                                 createdAt: version.createdAt, invocationCount: Double(dependencies.metrics.invocationCount(version.spec.name)),
                                 replicas: replicas.desired, availableReplicas: replicas.available, aliases: weights)
        }
    }

    func removeVersion(_ name: FunctionName, _ number: Int) async throws -> Response {
        let outcome: RemoveVersionOutcome
        do { outcome = try await versions.removeVersion(of: name, number) } catch { throw GatewayError.from(error) }
        switch outcome {
        case .notFound:
            throw GatewayError.notFound("version \(number) of '\(name)' not found")
        case .referenced(let aliases):
            throw GatewayError(.conflict, "version \(number) of '\(name)' is routed to by alias\(aliases.count == 1 ? "" : "es") \(aliases.joined(separator: ", ")): point \(aliases.count == 1 ? "it" : "them") elsewhere (stratus alias set) or remove \(aliases.count == 1 ? "it" : "them") first")
        case .removed:
            let qualified = try FunctionName(name, qualifier: String(number))
            dependencies.invoker.undeploy(qualified)
            dependencies.removeSecretsFolder(qualified)
            dependencies.logger.info("function version removed", metadata: ["function": "\(name)", "version": "\(number)"])
            return Response(status: .ok)
        }
    }

    func setAlias(_ request: Request, name: FunctionName, alias aliasName: String) async throws -> Response {
        let buffer = try await request.collectBody(limit: 64 * 1024)
        let body = try JSON.decode(AliasStatus.self, from: buffer, what: "alias ({\"routes\": [{\"version\": 3, \"weight\": 100}]})")
        let alias: FunctionAlias
        do { alias = try FunctionAlias(function: name, name: aliasName, routes: body.routes) } catch { throw GatewayError.from(error) }
        let outcome: SetAliasOutcome
        do { outcome = try await versions.setAlias(alias) } catch { throw GatewayError.from(error) }
        switch outcome {
        case .functionNotFound:
            throw GatewayError.notFound("function '\(name)' not found")
        case .missingVersions(let missing):
            throw GatewayError.badRequest("alias '\(aliasName)' routes to version\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) of '\(name)', which \(missing.count == 1 ? "is" : "are") not published (stratus publish \(name))")
        case .saved(let created):
            try await refreshAliases()
            dependencies.logger.info(created ? "alias created" : "alias updated", metadata: ["function": "\(name)", "alias": "\(aliasName)", "routes": "\(alias.routesText)"])
            return try JSON.response(AliasStatus(alias), status: created ? .created : .ok)
        }
    }

    func removeAlias(_ name: FunctionName, _ aliasName: String) async throws -> Response {
        let removed: Bool
        do { removed = try await versions.removeAlias(of: name, named: aliasName) } catch { throw GatewayError.from(error) }
        guard removed else { throw GatewayError.notFound("alias '\(aliasName)' of '\(name)' not found") }
        try await refreshAliases()
        dependencies.logger.info("alias removed", metadata: ["function": "\(name)", "alias": "\(aliasName)"])
        return Response(status: .ok)
    }

    private func refreshAliases() async throws {
        do { dependencies.invoker.setAliases(try await versions.allAliases()) } catch { throw GatewayError.from(error) }
    }
}
