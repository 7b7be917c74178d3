import Foundation
import Hummingbird
import StratusModel
import StratusStore
import StratusTemplates

/// The built-in store of example functions the web UI deploys with one click: `GET /system/store`,
/// `POST /system/store/{id}` (builds it here from the built-in templates, uploads, deploys).
struct StoreHandlers {
    let dependencies: Dependencies
    let functions: FunctionHandlers

    struct Entry: Codable, Sendable {
        let id: String
        let title: String
        let description: String
        let language: String
    }

    static let entries: [Entry] = [
        Entry(id: "hello", title: "Hello (Swift, Wasm)", description: "Embedded Swift compiled to WebAssembly: answers \"Hello! You said: …\".",
              language: "swift-wasm"),
        Entry(id: "hello-c", title: "Hello (C, Wasm)", description: "C with wasi-libc compiled to WebAssembly.", language: "c-wasm"),
        Entry(id: "pycon", title: "pycon (Python 3)", description: "The OpenFaaS classic python3 template: a process per call.",
              language: "python3"),
        Entry(id: "classify", title: "Image classifier (Swift, WASI-NN)",
              description: "EfficientNet-Lite0 on ONNX Runtime: post a JPEG or PNG, get the top 3 ImageNet labels.", language: "swift-wasm"),
    ]

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.get("store") { _, _ in try JSON.response(Self.entries) }
        group.post("store/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let entry = Self.entries.first(where: { $0.id == id }) else {
                throw GatewayError.notFound("the store has no '\(id)' (it has \(Self.entries.map(\.id).joined(separator: ", ")))")
            }
            let created = try await deploy(entry)
            struct Deployed: Encodable { let function: String; let created: Bool }
            return try JSON.response(Deployed(function: entry.id, created: created), status: .accepted)
        }
    }

    /// Builds the entry in a scratch folder with the built-in toolchain recipes, then deploys it.
    func deploy(_ entry: Entry) async throws -> Bool {
        guard let language = TemplateLanguage(rawValue: entry.language) else { throw GatewayError(.internalServerError, "unknown language") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var handler: URL
        var annotations: [String: String] = [:]
        if entry.id == "classify" {
            guard let examples = Examples.folder(),
                  FileManager.default.fileExists(atPath: examples.appendingPathComponent("../.cache/models/efficientnet-lite0.onnx").path)
            else {
                throw GatewayError(.conflict, "the classifier needs the Stratus source tree's examples/ and the model from `make setup-models`; neither is next to this binary")
            }
            handler = examples.appendingPathComponent("classify")
            let model = try Data(contentsOf: examples.appendingPathComponent("../.cache/models/efficientnet-lite0.onnx"))
            let digest = contentDigest(Array(model))
            do { try dependencies.invoker.validateModel(digest: digest, bytes: Array(model)) } catch { throw GatewayError.from(error) }
            do { _ = try await dependencies.artifacts.putArtifact(Array(model), name: try ArtifactName("classify-model-efficientnet:latest")) } catch {
                throw GatewayError(.internalServerError, "cannot store the model: \(error)")
            }
            annotations["com.stratus.model.efficientnet"] = digest.description
            annotations["com.stratus.timeout"] = "10s"
        } else {
            do {
                handler = try Templates.scaffold(name: entry.id, language: language, in: scratch).functionDirectory
            } catch {
                throw GatewayError(.internalServerError, "cannot write the template: \(error)")
            }
        }
        let output = scratch.appendingPathComponent("build/\(language.artifactFileName)")
        do {
            _ = try await WasmBuilder().buildInBackground(language: language, handlerDirectory: handler, output: output)
        } catch {
            throw GatewayError(.internalServerError, "building \(entry.id) failed: \(error)")
        }
        let bytes = Array(try Data(contentsOf: output))
        let digest = contentDigest(bytes)
        do { try await dependencies.invoker.validateArtifact(digest: digest, bytes: bytes) } catch { throw GatewayError.from(error) }
        let image = "\(entry.id):store"
        do { _ = try await dependencies.artifacts.putArtifact(bytes, name: try ArtifactName(image)) } catch {
            throw GatewayError(.internalServerError, "cannot store the artifact: \(error)")
        }
        var environment: [String: String] = [:]
        if let mode = language.processMode { environment["mode"] = mode }
        let deployment = FunctionDeployment(service: entry.id, image: image, envProcess: language.fprocess, envVars: environment,
                                            labels: ["com.stratus.store": entry.id], annotations: annotations)
        return try await functions.apply(deployment, mustExist: false)
    }
}
