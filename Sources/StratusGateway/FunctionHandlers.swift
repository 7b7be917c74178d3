import Foundation
import Hummingbird
import StratusInvoker
import StratusModel
import StratusStore

/// `GET/POST/PUT/DELETE /system/functions` and `GET /system/function/{name}` (OpenFaaS provider API).
struct FunctionHandlers {
    let dependencies: Dependencies

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.get("functions") { _, _ in try await list() }
        let gate = dependencies.managementGate
        group.post("functions") { request, _ in try await gate.run { try await deploy(request, mustExist: false) } }
        group.put("functions") { request, _ in try await gate.run { try await deploy(request, mustExist: true) } }
        group.delete("functions") { request, _ in try await gate.run { try await delete(request) } }
        group.get("function/{name}") { _, context in try await describe(context.parameters.get("name") ?? "") }
        group.post("scale-function/{name}") { request, context in
            try await gate.run { try await scale(request, rawName: context.parameters.get("name") ?? "") }
        }
    }

    /// `POST /system/scale-function/{name}` `{"serviceName", "namespace", "replicas"}`: sets an http-mode
    /// function's replicas (kept across restarts). Wasm and classic functions run per call: accepted, no change.
    func scale(_ request: Request, rawName: String) async throws -> Response {
        let buffer = try await request.collectBody(limit: 64 * 1024)
        let body = try JSON.decode(ScaleServiceRequest.self, from: buffer, what: "scale request ({\"serviceName\": \"…\", \"replicas\": N})")
        let name = try parseName(rawName)
        guard var spec = try await lookup(name) else { throw GatewayError.notFound("function '\(rawName)' not found") }
        guard body.replicas >= 0 else { throw GatewayError.badRequest("replicas must be 0 or more, not \(body.replicas)") }
        let applied: Int?
        do { applied = try dependencies.invoker.scale(name, to: body.replicas) } catch { throw GatewayError.from(error) }
        guard let applied else { return Response(status: .accepted) }
        spec.replicas = applied
        do { try await dependencies.registry.saveFunction(spec) } catch { throw GatewayError.from(error) }
        dependencies.logger.info("function scaled", metadata: ["function": "\(name)", "replicas": "\(applied)"])
        return Response(status: .accepted)
    }

    func list() async throws -> Response {
        let specs: [FunctionSpec]
        do { specs = try await dependencies.registry.functions() } catch { throw GatewayError.from(error) }
        return try JSON.response(specs.map(status))
    }

    func describe(_ rawName: String) async throws -> Response {
        let name = try parseName(rawName)
        guard let spec = try await lookup(name) else { throw GatewayError.notFound("function '\(rawName)' not found") }
        return try JSON.response(status(spec))
    }

    /// check body → decode → default → validate → look up → act → log.
    func deploy(_ request: Request, mustExist: Bool) async throws -> Response {
        let buffer = try await request.collectBody(limit: 1024 * 1024)
        let deployment = try JSON.decode(FunctionDeployment.self, from: buffer, what: "FunctionDeployment")
        _ = try await apply(deployment, mustExist: mustExist)
        return Response(status: .accepted)
    }

    /// Deploys (or updates) a function from an OpenFaaS deployment; returns whether it was created.
    func apply(_ deployment: FunctionDeployment, mustExist: Bool) async throws -> Bool {
        let reference: FunctionReference
        do throws(ModelError) {
            reference = try FunctionReference(parsing: deployment.service)
            if let namespace = deployment.namespace, !namespace.isEmpty, namespace != FunctionReference.defaultNamespace {
                throw ModelError.unknownNamespace(namespace)
            }
        } catch {
            throw GatewayError.from(error)
        }
        for secret in deployment.secrets ?? [] {
            let name: SecretName
            do { name = try SecretName(secret) } catch { throw GatewayError.from(error) }
            let known: Bool
            do { known = try await dependencies.secrets.secretValue(name) != nil } catch { throw GatewayError.from(error) }
            guard known else { throw GatewayError.badRequest("secret '\(secret)' does not exist: create it first (stratus secret create \(secret))") }
        }
        let existing = try await lookup(reference.name)
        if mustExist, existing == nil {
            throw GatewayError.notFound("function '\(reference.name)' not found: create it with POST")
        }
        let artifact: ArtifactRecord?
        do { artifact = try await dependencies.artifacts.resolveArtifact(deployment.image) } catch { throw GatewayError.from(error) }
        var bytes: [UInt8]?
        if let artifact {
            do { bytes = try await dependencies.artifacts.artifactBytes(artifact.digest) } catch { throw GatewayError.from(error) }
        }
        var command = deployment.envProcess.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        // An uploaded artifact decides the runtime; without one, an envProcess runs as a host command.
        let runtime: FunctionRuntime
        if let bytes {
            runtime = Invoker.runtime(for: bytes)
            // A custom runtime's bundle runs its ./bootstrap unless the deployment names a command; the spec records it.
            let mode: ProcessMode
            do { mode = try FunctionSettings.mode(annotations: deployment.annotations ?? [:], environment: deployment.envVars ?? [:]) } catch {
                throw GatewayError.from(error)
            }
            if runtime == .process, command == nil, mode == .bootstrap { command = FunctionSettings.bootstrapCommand }
            if runtime == .process, command == nil {
                throw GatewayError.badRequest("image '\(deployment.image)' is a process bundle: set envProcess (fprocess), the command to run in it (or com.stratus.mode=bootstrap for a custom runtime's ./bootstrap)")
            }
        } else if command != nil {
            runtime = .process
        } else {
            throw GatewayError.badRequest(
                "image '\(deployment.image)' names no uploaded artifact and the deployment sets no envProcess: upload a .wasm module or bundle first (POST /system/artifacts?name=\(deployment.image), or `stratus up`), or set envProcess (faas-cli --fprocess) to run a command"
            )
        }
        let now = Date()
        var spec = FunctionSpec(
            name: reference.name, namespace: reference.namespace, image: deployment.image, artifact: artifact?.digest,
            runtime: runtime, envProcess: command, envVars: deployment.envVars ?? [:], labels: deployment.labels ?? [:],
            annotations: deployment.annotations ?? [:], constraints: deployment.constraints ?? [],
            secrets: deployment.secrets ?? [], limits: deployment.limits, requests: deployment.requests,
            readOnlyRootFilesystem: deployment.readOnlyRootFilesystem ?? false,
            createdAt: existing?.createdAt ?? now, updatedAt: now)
        // Layers named without a version are pinned to the latest now, so a restart brings back the same ones.
        let layerFolder = try await dependencies.layers.prepare(&spec)
        let secrets = try await dependencies.secretsFolder(spec)
        let secretValues = try await dependencies.secretValues(spec)
        let models = try await dependencies.models(spec)
        do {
            try await dependencies.invoker.deploy(spec, artifact: bytes, secrets: secrets, secretValues: secretValues, layers: layerFolder,
                                                  models: models)
        } catch {
            throw GatewayError.from(error)
        }
        do {
            try await dependencies.registry.saveFunction(spec)
        } catch {
            dependencies.invoker.undeploy(spec.name)
            throw GatewayError.from(error)
        }
        dependencies.logger.info(existing == nil ? "function created" : "function updated", metadata: ["function": "\(spec.name)", "image": "\(spec.image)"])
        return existing == nil
    }

    func delete(_ request: Request) async throws -> Response {
        let buffer = try await request.collectBody(limit: 64 * 1024)
        let body = try JSON.decode(DeleteFunctionRequest.self, from: buffer, what: "delete request ({\"functionName\": \"…\"})")
        let name = try parseName(body.functionName)
        let spec = try await lookup(name)
        let removed: Bool
        do { removed = try await dependencies.registry.removeFunction(named: name) } catch { throw GatewayError.from(error) }
        guard removed else { throw GatewayError.notFound("function '\(body.functionName)' not found") }
        dependencies.invoker.undeploy(name)
        dependencies.removeSecretsFolder(name)
        try? await dependencies.logStore.removeLogs(function: name.rawValue)
        // The site deployed with the function (annotation com.stratus.site) goes with it.
        if spec?.annotations[SiteStatus.annotation] != nil { _ = try? await dependencies.sites.remove(name) }
        dependencies.logger.info("function removed", metadata: ["function": "\(name)"])
        return Response(status: .ok)
    }

    private func parseName(_ raw: String) throws -> FunctionName {
        do { return try FunctionReference(parsing: raw).name } catch { throw GatewayError.notFound("function '\(raw)' not found: \(error)") }
    }

    private func lookup(_ name: FunctionName) async throws -> FunctionSpec? {
        do { return try await dependencies.registry.function(named: name) } catch { throw GatewayError.from(error) }
    }

    private func status(_ spec: FunctionSpec) -> FunctionStatus {
        let replicas = dependencies.invoker.replicas(spec.name)
        return spec.status(invocationCount: dependencies.metrics.invocationCount(spec.name),
                           replicas: replicas.desired, availableReplicas: replicas.available)
    }
}
