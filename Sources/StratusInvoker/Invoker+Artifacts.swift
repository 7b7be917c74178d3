public import StratusModel
public import StratusProcess

extension Invoker {
    /// Checks that `bytes` is deployable: a Wasm module (WASI command, known imports, valid code) or a bundle.
    public func validateArtifact(digest: Digest, bytes: [UInt8]) async throws(InvokerError) {
        try await factory.validateArtifact(digest: digest, bytes: bytes)
    }

    /// Checks that `bytes` are a model the inference engine loads (and keeps it loaded, so the first call is warm).
    public func validateModel(digest: Digest, bytes: [UInt8]) throws(InvokerError) {
        try factory.validateModel(digest: digest, bytes: bytes)
    }

    /// The runtime an artifact's bytes need.
    public static func runtime(for bytes: [UInt8]) -> FunctionRuntime {
        ProcessRuntime.isBundle(bytes) ? .process : .wasm
    }
}
