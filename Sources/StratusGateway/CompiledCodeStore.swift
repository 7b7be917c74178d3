import Logging
import StratusModel
import StratusStore
import StratusWasm

/// Wasmtime's compiled code kept in the artifact store, so a restart (or another node of a cluster,
/// which shares the store) loads it instead of compiling again. An entry is an artifact named
/// `stratus-compiled/<module hex>:<engine key>`, the key naming Wasmtime's version and settings; the
/// store checks its digest on every read, so damaged bytes are never handed to Wasmtime.
struct CompiledCodeStore: CompiledCodeCache {
    let store: any ArtifactStore
    let logger: Logger

    static func name(module: Digest, key: String) -> ArtifactName? {
        try? ArtifactName("stratus-compiled/\(module.hex):\(key)")
    }

    func compiledCode(module: Digest, key: String) async -> [UInt8]? {
        guard let name = Self.name(module: module, key: key) else { return nil }
        do throws(StoreError) {
            guard let record = try await store.resolveArtifact(name.description) else { return nil }
            return try await store.artifactBytes(record.digest)
        } catch {
            logger.warning("the compiled-code cache entry cannot be read; the module is compiled again", metadata: [
                "module": "\(module)", "why": "\(error)",
            ])
            return nil
        }
    }

    func storeCompiledCode(_ code: [UInt8], module: Digest, key: String) async {
        guard let name = Self.name(module: module, key: key) else { return }
        do throws(StoreError) {
            _ = try await store.putArtifact(code, name: name)
        } catch {
            logger.warning("compiled code could not be kept in the store; the next start compiles again", metadata: [
                "module": "\(module)", "why": "\(error)",
            ])
        }
    }
}
