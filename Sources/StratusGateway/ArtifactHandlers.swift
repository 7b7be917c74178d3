import Hummingbird
import StratusModel
import StratusStore

/// `POST /system/artifacts?name=NAME[:TAG]`: stores a Wasm module and answers its digest.
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
        guard bytes.count >= 8, bytes[0..<4] == [0x00, 0x61, 0x73, 0x6d] else {
            throw GatewayError.badRequest("invalid WebAssembly module: the body does not start with the \\0asm magic number")
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
