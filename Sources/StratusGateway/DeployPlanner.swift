import Foundation
import StratusImages
import StratusInvoker
import StratusModel
import StratusStore
import StratusWasm

/// Turns what is asked to be deployed (an OpenFaaS `FunctionDeployment` from the API or the
/// store's entries, or a stored spec at start-up) into a checked `DeployPlan`: the name,
/// namespace, runtime and command decided, settings parsed, secrets checked and read once,
/// layers pinned and unpacked, models resolved. No HTTP here: the cluster reconciler uses it too.
struct DeployPlanner: Sendable {
    let store: any StratusStorage
    let layers: LayerDirectory
    let secretFiles: SecretFiles
    /// Whether process functions get their secrets as files (only inside the sandbox).
    let processSecrets: Bool
    /// Where container images are pulled to, when this server runs them.
    var images: ImageStore? = nil

    /// Annotation prefix declaring a model a Wasm function may load by name: `com.stratus.model.NAME: sha256:…`
    /// (or the `name:tag` it was uploaded under; `stratus deploy` uploads a file path given there).
    static let modelAnnotationPrefix = "com.stratus.model."

    /// The plan for a deployment; `existing` is the version it updates, if any (its creation time is kept).
    func plan(_ deployment: FunctionDeployment, existing: FunctionSpec?) async throws -> DeployPlan {
        let name: FunctionName
        do throws(ModelError) {
            // `service` as `name` with the namespace in its own field (faas-cli), or as `name.namespace`.
            name = try FunctionName(parsing: deployment.service, namespace: deployment.namespace)
        } catch {
            throw GatewayError.from(error)
        }
        try await NamespaceHandlers.mustExist(name.namespace, in: store, status: .badRequest)
        let artifact: ArtifactRecord?
        do { artifact = try await store.resolveArtifact(deployment.image) } catch { throw GatewayError.from(error) }
        var bytes: [UInt8]?
        if let artifact {
            do { bytes = try await store.artifactBytes(artifact.digest) } catch { throw GatewayError.from(error) }
        }
        let (runtime, command) = try Self.runtime(deployment, bytes: bytes)
        let now = Date()
        var spec = FunctionSpec(
            name: name, image: deployment.image, artifact: artifact?.digest,
            runtime: runtime, envProcess: command, envVars: deployment.envVars ?? [:],
            labels: (deployment.labels ?? [:]).filter { $0.key != FunctionSpec.functionLabel },
            annotations: deployment.annotations ?? [:], constraints: deployment.constraints ?? [],
            secrets: deployment.secrets ?? [], limits: deployment.limits, requests: deployment.requests,
            readOnlyRootFilesystem: deployment.readOnlyRootFilesystem ?? false,
            createdAt: existing?.createdAt ?? now, updatedAt: now)
        if runtime == .image { spec.imageDigest = try await pull(deployment.image, credentials: try await registryCredentials(of: spec)).digest }
        // Settings first (cheap, and the clearest error), then what needs the store.
        do { _ = try spec.settings() } catch { throw GatewayError.from(error) }
        // Layers named without a version are pinned to the latest now, so a restart brings back the same ones.
        let layerFolder = try await layers.prepare(&spec)
        return try await plan(spec, artifact: bytes, layers: layerFolder)
    }

    /// The plan for a stored spec (restore at start-up): its layers were pinned when it was deployed.
    func plan(_ spec: FunctionSpec) async throws -> DeployPlan {
        var bytes: [UInt8]?
        if let digest = spec.artifact {
            do { bytes = try await store.artifactBytes(digest) } catch { throw GatewayError.from(error) }
        }
        return try await plan(spec, artifact: bytes, layers: try await layers.folder(for: spec))
    }

    private func plan(_ spec: FunctionSpec, artifact: [UInt8]?, layers: URL?) async throws -> DeployPlan {
        if spec.kind == .process, !spec.secrets.isEmpty, !processSecrets {
            // Without the sandbox there is no private place to show them: every call would fail.
            throw GatewayError.badRequest(
                "function '\(spec.name)' uses secrets (\(spec.secrets.joined(separator: ", "))), which process functions read from /var/openfaas/secrets inside the bubblewrap sandbox, and this server has none: install bubblewrap (apt-get install -y bubblewrap) and restart the server, or deploy without secrets")
        }
        let secrets = try await secretValues(of: spec)
        var folder: URL?
        // A container gets its secrets as files too, mounted read-only by the OCI runtime.
        if spec.kind == .process && processSecrets || spec.kind == .image { folder = try await secretFiles.materialize(spec, values: secrets) }
        do {
            var plan = try DeployPlan(spec: spec, artifact: artifact, secretsFolder: folder, secretValues: spec.kind == .wasm ? secrets : [:],
                                      layers: layers, models: try await models(of: spec))
            if spec.kind == .image { plan.image = try await pinnedImage(spec) }
            return plan
        } catch let error as InvokerError {
            throw GatewayError.from(error)
        }
    }

    /// The function's secret that holds registry credentials (a `.dockerconfigjson`), if any.
    private func registryCredentials(of spec: FunctionSpec) async throws -> [UInt8]? {
        guard !spec.secrets.isEmpty else { return nil }
        return try await secretValues(of: spec).sorted { $0.key < $1.key }.first { ImageStore.isDockerConfig($0.value) }?.value
    }

    /// Pulls (or finds) the image `text` names.
    private func pull(_ text: String, credentials: [UInt8]?) async throws -> PulledImage {
        guard let images else {
            throw GatewayError.badRequest("image '\(text)' names a registry, and this server does not run container images (it needs skopeo, umoci and runc)")
        }
        guard let reference = ImageReference(text) else { throw GatewayError.badRequest("image '\(text)' is not a valid image reference (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:…)") }
        do { return try await images.pull(reference, credentials: credentials) } catch { throw GatewayError.from(error) }
    }

    /// A container function's image, exactly the digest it was deployed with: from this node's
    /// images, else pulled by digest (a restart that lost it, another node of a cluster).
    private func pinnedImage(_ spec: FunctionSpec) async throws -> (image: PulledImage, rootfs: URL) {
        guard let images else { throw GatewayError.badRequest("function '\(spec.name)' runs a container image, and this server does not run them") }
        guard let digest = spec.imageDigest, let reference = ImageReference(spec.image) else {
            throw GatewayError.badRequest("function '\(spec.name)' has no pinned image digest")
        }
        let image: PulledImage
        if let local = await images.image(digest) {
            image = local
        } else {
            guard let pinned = ImageReference(reference.pinned(to: digest)) else { throw GatewayError.badRequest("bad image reference \(spec.image)") }
            let credentials = try await registryCredentials(of: spec)
            do { image = try await images.pull(pinned, credentials: credentials) } catch { throw GatewayError.from(error) }
        }
        return (image, await images.directory(for: digest).appendingPathComponent("rootfs"))
    }

    /// The runtime an uploaded artifact decides (a process bundle or a Wasm module), and the command
    /// a process function runs; without an artifact, an `envProcess` runs as a host command.
    private static func runtime(_ deployment: FunctionDeployment, bytes: [UInt8]?) throws -> (FunctionRuntime, String?) {
        var command = deployment.envProcess.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        guard let bytes else {
            // A registry reference with no command: an OpenFaaS function image with its watchdog.
            if command == nil, ImageReference.namesRegistry(deployment.image) { return (.image, nil) }
            guard let command else {
                throw GatewayError.badRequest(
                    "image '\(deployment.image)' names no uploaded artifact and the deployment sets no envProcess: upload a .wasm module or bundle first (POST /system/artifacts?name=\(deployment.image), or `stratus up`), or set envProcess (faas-cli --fprocess) to run a command"
                )
            }
            return (.process, command)
        }
        let runtime = Invoker.runtime(for: bytes)
        guard runtime == .process else { return (runtime, command) }
        // A custom runtime's bundle runs its ./bootstrap unless the deployment names a command; the spec records it.
        let mode: ProcessMode
        do { mode = try FunctionSettings.mode(annotations: deployment.annotations ?? [:], environment: deployment.envVars ?? [:]) } catch {
            throw GatewayError.from(error)
        }
        if command == nil, mode == .bootstrap { command = FunctionSettings.bootstrapCommand }
        guard command != nil else {
            throw GatewayError.badRequest("image '\(deployment.image)' is a process bundle: set envProcess (fprocess), the command to run in it (or com.stratus.mode=bootstrap for a custom runtime's ./bootstrap)")
        }
        return (runtime, command)
    }

    /// The spec's secrets (from its own namespace), each checked to exist and read once.
    private func secretValues(of spec: FunctionSpec) async throws -> [String: [UInt8]] {
        var values: [String: [UInt8]] = [:]
        for raw in spec.secrets {
            let name: SecretName
            do { name = try SecretName(raw, namespace: spec.namespace) } catch { throw GatewayError.from(error) }
            let value: [UInt8]?
            do { value = try await store.secretValue(name) } catch { throw GatewayError.from(error) }
            guard let value else {
                let flag = spec.name.isInDefaultNamespace ? "" : " --namespace \(spec.namespace)"
                throw GatewayError.badRequest("secret '\(raw)' does not exist in namespace '\(spec.namespace)': create it first (stratus secret create \(raw)\(flag))")
            }
            values[name.rawValue] = value
        }
        return values
    }

    /// The models `spec` declares, resolved to their stored bytes.
    private func models(of spec: FunctionSpec) async throws -> [String: FunctionModels.Model] {
        var models: [String: FunctionModels.Model] = [:]
        for (key, value) in spec.annotations where key.hasPrefix(Self.modelAnnotationPrefix) {
            let name = String(key.dropFirst(Self.modelAnnotationPrefix.count))
            guard !name.isEmpty else { throw GatewayError.badRequest("annotation '\(key)' names no model: use \(Self.modelAnnotationPrefix)NAME") }
            let record: ArtifactRecord?
            do { record = try await store.resolveArtifact(value) } catch { throw GatewayError.from(error) }
            guard let record else {
                throw GatewayError.badRequest("model '\(name)' refers to '\(value)', which is not uploaded: upload it with POST /system/artifacts?kind=model (stratus deploy does it for a file path)")
            }
            do { models[name] = FunctionModels.Model(digest: record.digest, bytes: try await store.artifactBytes(record.digest)) } catch {
                throw GatewayError.from(error)
            }
        }
        return models
    }
}
