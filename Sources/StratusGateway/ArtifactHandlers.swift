import Hummingbird
import StratusModel
import StratusStore

/// `POST /system/artifacts?name=NAME[:TAG]`: stores a Wasm module or a process bundle (tar.gz) and answers its digest.
struct ArtifactHandlers {
    let dependencies: Dependencies

    func register(on group: RouterGroup<BasicRequestContext>) {
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
        let isWasm = bytes.count >= 8 && bytes[0..<4] == [0x00, 0x61, 0x73, 0x6d]
        guard isWasm || (bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) else {
            throw GatewayError.badRequest(
                "invalid artifact: the body is neither a WebAssembly module (\\0asm magic number) nor a gzip'd tar bundle")
        }
        let digest = contentDigest(bytes)
        do {
            try await dependencies.invoker.validateArtifact(digest: digest, bytes: bytes)
        } catch {
            throw GatewayError.from(error)
        }
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
