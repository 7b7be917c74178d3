import Foundation
import Hummingbird
import StratusInvoker
import StratusModel
import StratusStore

/// `GET/POST/PUT/DELETE /system/functions` and `GET /system/function/{name}` (OpenFaaS provider API).
struct FunctionHandlers {
    let dependencies: Dependencies

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.get("functions") { request, _ in try await list(namespace: request.uri.queryParameters.get("namespace")) }
        let gate = dependencies.managementGate
        group.post("functions") { request, _ in try await gate.run { try await deploy(request, mustExist: false) } }
        group.put("functions") { request, _ in try await gate.run { try await deploy(request, mustExist: true) } }
        group.delete("functions") { request, _ in try await gate.run { try await delete(request) } }
        group.get("function/{name}") { request, context in
            try await describe(context.parameters.get("name") ?? "", namespace: request.uri.queryParameters.get("namespace"))
        }
        group.post("scale-function/{name}") { request, context in
            try await gate.run { try await scale(request, rawName: context.parameters.get("name") ?? "") }
        }
    }

    /// `POST /system/scale-function/{name}` `{"serviceName", "namespace", "replicas"}`: sets any
    /// function's replicas (clamped to `com.openfaas.scale.max`, kept across restarts); 0 scales it to
    /// zero, and the next call starts a replica again. `NAME:N` scales published version N.
    func scale(_ request: Request, rawName: String) async throws -> Response {
        let buffer = try await request.collectBody(limit: 64 * 1024)
        let body = try JSON.decode(ScaleServiceRequest.self, from: buffer, what: "scale request ({\"serviceName\": \"…\", \"replicas\": N})")
        if rawName.contains(":") { return try await scaleVersion(rawName, namespace: body.namespace ?? request.uri.queryParameters.get("namespace"), to: body.replicas) }
        let name = try parseName(rawName, namespace: body.namespace ?? request.uri.queryParameters.get("namespace"))
        guard var spec = try await lookup(name) else { throw GatewayError.notFound("function '\(name)' not found") }
        guard body.replicas >= 0 else { throw GatewayError.badRequest("replicas must be 0 or more, not \(body.replicas)") }
        let applied: Int
        do { applied = try dependencies.invoker.scale(name, to: body.replicas) } catch { throw GatewayError.from(error) }
        spec.replicas = applied
        do { try await dependencies.registry.saveFunction(spec) } catch { throw GatewayError.from(error) }
        dependencies.logger.info("function scaled", metadata: ["function": "\(name)", "replicas": "\(applied)"])
        return Response(status: .accepted)
    }

    /// Scales a published version: its own replicas, kept with the version (restarts and other nodes follow).
    private func scaleVersion(_ rawName: String, namespace: String?, to replicas: Int) async throws -> Response {
        let colon = rawName.lastIndex(of: ":")!
        let base = try parseName(String(rawName[..<colon]), namespace: namespace)
        let text = String(rawName[rawName.index(after: colon)...])
        guard let number = Int(text), number > 0, let name = try? FunctionName(base, qualifier: text) else {
            throw GatewayError.notFound("'\(rawName)' is not a function or a published version (aliases cannot be scaled: scale their versions)")
        }
        guard replicas >= 0 else { throw GatewayError.badRequest("replicas must be 0 or more, not \(replicas)") }
        let applied: Int
        do { applied = try dependencies.invoker.scale(name, to: replicas) } catch {
            throw GatewayError.notFound("version \(number) of '\(base)' not found")
        }
        let kept: Bool
        do { kept = try await dependencies.versions.setVersionReplicas(of: base, number, replicas: applied) } catch { throw GatewayError.from(error) }
        guard kept else { throw GatewayError.notFound("version \(number) of '\(base)' not found") }
        dependencies.logger.info("function version scaled", metadata: ["function": "\(base)", "version": "\(number)", "replicas": "\(applied)"])
        return Response(status: .accepted)
    }

    /// The functions of one namespace (`?namespace=`, the default namespace when absent), as OpenFaaS lists them.
    func list(namespace: String?) async throws -> Response {
        let namespace = namespace.flatMap { $0.isEmpty ? nil : $0 } ?? FunctionName.defaultNamespace
        try await NamespaceHandlers.mustExist(namespace, in: dependencies.namespaces)
        let specs: [FunctionSpec]
        do { specs = try await dependencies.registry.functions() } catch { throw GatewayError.from(error) }
        let extras = try await Extras.load(dependencies)
        return try JSON.response(specs.filter { $0.namespace == namespace }.map { status($0, extras) })
    }

    func describe(_ rawName: String, namespace: String?) async throws -> Response {
        let name = try parseName(rawName, namespace: namespace)
        guard let spec = try await lookup(name) else { throw GatewayError.notFound("function '\(name)' not found") }
        return try JSON.response(status(spec, try await Extras.load(dependencies)))
    }

    /// Versions, aliases and timer triggers of every function, read once per answer.
    struct Extras {
        var versions: [FunctionName: [FunctionVersion]] = [:]
        var aliases: [FunctionName: [FunctionAlias]] = [:]
        var triggers: [String: TriggerStatus] = [:]

        static func load(_ dependencies: Dependencies) async throws -> Extras {
            var extras = Extras()
            do throws(StoreError) {
                extras.versions = Dictionary(grouping: try await dependencies.versions.allVersions(), by: \.function)
                extras.aliases = Dictionary(grouping: try await dependencies.versions.allAliases(), by: \.function)
                for trigger in try await dependencies.timers.statuses() {
                    extras.triggers[(try? FunctionName(trigger.function, namespace: trigger.namespace))?.qualified ?? trigger.function] = trigger
                }
            } catch {
                throw GatewayError.from(error)
            }
            return extras
        }
    }

    /// check body → decode → default → validate → look up → act → log.
    func deploy(_ request: Request, mustExist: Bool) async throws -> Response {
        let buffer = try await request.collectBody(limit: 1024 * 1024)
        let deployment = try JSON.decode(FunctionDeployment.self, from: buffer, what: "FunctionDeployment")
        _ = try await apply(deployment, mustExist: mustExist)
        return Response(status: .accepted)
    }

    /// Deploys (or updates) a function from an OpenFaaS deployment; returns whether it was created.
    /// The new version is made and started beside the old one, saved, and only then swapped in:
    /// when its start or its save fails, the old version keeps serving as if nothing happened.
    func apply(_ deployment: FunctionDeployment, mustExist: Bool) async throws -> Bool {
        let name = try parseName(deployment.service, namespace: deployment.namespace, badRequest: true)
        let existing = try await lookup(name)
        if mustExist, existing == nil {
            throw GatewayError.notFound("function '\(name)' not found: create it with POST")
        }
        let plan = try await dependencies.planner.plan(deployment, existing: existing)
        let invoker = dependencies.invoker
        let prepared: PreparedFunction
        do { prepared = try await invoker.prepare(plan) } catch { throw GatewayError.from(error) }
        do {
            try await dependencies.registry.saveFunction(plan.spec)
        } catch {
            await prepared.function.stop()
            throw GatewayError.from(error)
        }
        invoker.activate(prepared)
        dependencies.timers.wake()
        dependencies.logger.info(existing == nil ? "function created" : "function updated", metadata: ["function": "\(plan.spec.name)", "image": "\(plan.spec.image)"])
        return existing == nil
    }

    func delete(_ request: Request) async throws -> Response {
        let buffer = try await request.collectBody(limit: 64 * 1024)
        let body = try JSON.decode(DeleteFunctionRequest.self, from: buffer, what: "delete request ({\"functionName\": \"…\"})")
        let name = try parseName(body.functionName, namespace: body.namespace ?? request.uri.queryParameters.get("namespace"))
        let spec = try await lookup(name)
        let versions = (try? await dependencies.versions.versions(of: name)) ?? []
        let removed: Bool
        do { removed = try await dependencies.registry.removeFunction(named: name) } catch { throw GatewayError.from(error) }
        guard removed else { throw GatewayError.notFound("function '\(name)' not found") }
        // Its versions, aliases and timer state went with it in the store; its versions stop here too.
        dependencies.invoker.undeploy(name)
        dependencies.removeSecretsFolder(name)
        for version in versions { dependencies.removeSecretsFolder(version.spec.name) }
        if let aliases = try? await dependencies.versions.allAliases() { dependencies.invoker.setAliases(aliases) }
        try? await dependencies.logStore.removeLogs(function: name)
        dependencies.endLogFollowers(name)
        // The site deployed with the function (annotation com.stratus.site) goes with it (sites are named in the default namespace).
        if name.isInDefaultNamespace, spec?.annotations[SiteStatus.annotation] != nil { _ = try? await dependencies.sites.remove(name) }
        dependencies.logger.info("function removed", metadata: ["function": "\(name)"])
        return Response(status: .ok)
    }

    /// The function a path or body names (`name.namespace`, or `name` with the namespace beside it);
    /// a name that cannot exist is 404 (or 400 in a deployment).
    private func parseName(_ raw: String, namespace: String?, badRequest: Bool = false) throws -> FunctionName {
        do { return try FunctionName(parsing: raw, namespace: namespace) } catch {
            if badRequest { throw GatewayError.from(error) }
            throw GatewayError.notFound("function '\(raw)' not found: \(error)")
        }
    }

    private func lookup(_ name: FunctionName) async throws -> FunctionSpec? {
        do { return try await dependencies.registry.function(named: name) } catch { throw GatewayError.from(error) }
    }

    private func status(_ spec: FunctionSpec, _ extras: Extras) -> FunctionStatus {
        let replicas = dependencies.invoker.replicas(spec.name)
        var status = spec.status(invocationCount: dependencies.metrics.invocationCount(spec.name),
                                 replicas: replicas.desired, availableReplicas: replicas.available)
        status.engine = dependencies.invoker.engine(spec.name)
        let aliases = extras.aliases[spec.name] ?? []
        if let versions = extras.versions[spec.name], !versions.isEmpty {
            status.versions = VersionHandlers.statuses(versions, aliases: aliases, dependencies: dependencies)
        }
        if !aliases.isEmpty { status.aliases = aliases.map(AliasStatus.init) }
        status.trigger = extras.triggers[spec.name.qualified]
        return status
    }
}
