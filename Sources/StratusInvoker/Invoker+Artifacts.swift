public import StratusModel
public import StratusWasm
public import StratusProcess

extension Invoker {
    /// Checks that `bytes` is deployable: a Wasm module (WASI command, known imports, valid code) or a bundle.
    public func validateArtifact(digest: Digest, bytes: [UInt8]) async throws(InvokerError) {
        try await factory.validateArtifact(digest: digest, bytes: bytes)
    }

    /// How often Wasmtime compiled modules and found them in the compiled-code cache.
    public var wasmCompileCounts: CompileCounts { factory.wasm.compileCounts }

    /// Takes a module's code compiled ahead of time (`stratus compile`): see `WasmRuntime.acceptPrecompiled`.
    public func acceptPrecompiled(_ bytes: [UInt8]) async throws(InvokerError) -> PrecompiledModule {
        do {
            let precompiled = try PrecompiledModule(decoding: bytes)
            try await factory.wasm.acceptPrecompiled(precompiled)
            return precompiled
        } catch {
            throw .invalidArtifact(error)
        }
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
