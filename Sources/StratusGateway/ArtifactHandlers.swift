import Hummingbird
import StratusModel
import StratusStore
import StratusWasm

/// `POST /system/artifacts?name=NAME[:TAG][&kind=model|compiled]`: stores a Wasm module, a process
/// bundle (tar.gz), with `kind=model` a model for WASI-NN (ONNX), or with `kind=compiled` a module's
/// code compiled ahead of time (`stratus compile`), and answers its digest.
struct ArtifactHandlers {
    let dependencies: Dependencies

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.post("artifacts") { request, _ in try await upload(request) }
    }

    func upload(_ request: Request) async throws -> Response {
        let name: ArtifactName?
        do {
            name = try request.uri.queryParameters.get("name").map { (text: String) throws(ModelError) in try ArtifactName(text) }
        } catch {
            throw GatewayError.from(error)
        }
        let buffer = try await request.collectBody(limit: dependencies.configuration.maxArtifactBytes)
        let bytes = Array(buffer.readableBytesView)
        guard !bytes.isEmpty else { throw GatewayError.badRequest("empty body: upload the .wasm file's bytes") }
        let digest = contentDigest(bytes)
        if request.uri.queryParameters.get("kind") == "compiled" { return try await acceptCompiled(bytes) }
        if let kind = request.uri.queryParameters.get("kind"), kind != "function" {
            guard kind == "model" else {
                throw GatewayError.badRequest("unknown artifact kind '\(kind)': use 'model' for an ONNX model, 'compiled' for a .cwasm from `stratus compile`, or leave it out")
            }
            do { try dependencies.invoker.validateModel(digest: digest, bytes: bytes) } catch { throw GatewayError.from(error) }
            return try await store(bytes, name: name)
        }
        let isWasm = bytes.count >= 8 && bytes[0..<4] == [0x00, 0x61, 0x73, 0x6d]
        guard isWasm || (bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) else {
            throw GatewayError.badRequest(
                "invalid artifact: the body is neither a WebAssembly module (\\0asm magic number) nor a gzip'd tar bundle")
        }
        do {
            try await dependencies.invoker.validateArtifact(digest: digest, bytes: bytes)
        } catch {
            throw GatewayError.from(error)
        }
        return try await store(bytes, name: name)
    }

    /// `kind=compiled`: a module's Wasmtime code compiled ahead of time (`stratus compile`). It is
    /// native code that runs inside the server, so it is taken only from a server started with
    /// `--trust-precompiled`; the module itself is uploaded (and checked) as usual afterwards.
    private func acceptCompiled(_ bytes: [UInt8]) async throws -> Response {
        guard dependencies.configuration.trustPrecompiled else {
            throw GatewayError(.forbidden, "this server does not load precompiled code: it is native code that would run inside the server, unchecked. Start it with --trust-precompiled when everyone who can deploy is trusted with the server itself, or upload the .wasm alone (the server compiles it)")
        }
        let precompiled: PrecompiledModule
        do { precompiled = try await dependencies.invoker.acceptPrecompiled(bytes) } catch { throw GatewayError.from(error) }
        dependencies.logger.info("precompiled Wasmtime code taken", metadata: ["module": "\(precompiled.module)", "bytes": "\(precompiled.code.count)"])
        return try JSON.response(ArtifactUpload(digest: precompiled.module.description, size: precompiled.code.count, name: nil), status: .created)
    }

    private func store(_ bytes: [UInt8], name: ArtifactName?) async throws -> Response {
        let record: ArtifactRecord
        do {
            record = try await dependencies.artifacts.putArtifact(bytes, name: name)
        } catch {
            throw GatewayError.from(error)
        }
        dependencies.logger.info("artifact stored", metadata: ["digest": "\(record.digest)", "name": "\(name?.description ?? "-")"])
        return try JSON.response(ArtifactUpload(digest: record.digest.description, size: record.size, name: name?.description), status: .created)
    }
}
