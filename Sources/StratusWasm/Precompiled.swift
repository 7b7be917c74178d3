public import StratusModel
import Crypto
import Foundation

/// A module compiled ahead of time by `stratus compile`, as a `.cwasm` file: a header naming the
/// module (its digest) and the engine key it was compiled for, then Wasmtime's code.
///
///     STRATUS-CWASM 1\n<sha256:module>\n<engine key>\n<code…>
///
/// The code is native: a server loads it only when started with `--trust-precompiled`, and only
/// when the key is its own (Wasmtime also refuses code from another version or settings).
public struct PrecompiledModule: Sendable {
    public let module: StratusModel.Digest
    public let key: String
    public let code: [UInt8]

    static let magic = "STRATUS-CWASM 1"

    public init(module: StratusModel.Digest, key: String, code: [UInt8]) {
        self.module = module
        self.key = key
        self.code = code
    }

    /// Reads a `.cwasm` file's bytes.
    public init(decoding bytes: [UInt8]) throws(WasmError) {
        var lines: [String] = []
        var offset = 0
        while lines.count < 3, let end = bytes[offset...].prefix(512).firstIndex(of: 0x0a) {
            lines.append(String(decoding: bytes[offset..<end], as: UTF8.self))
            offset = end + 1
        }
        guard lines.count == 3, lines[0] == Self.magic else {
            throw .invalidModule("not a .cwasm file from `stratus compile` (it starts with \"\(Self.magic)\")")
        }
        guard let module = try? StratusModel.Digest(lines[1]) else { throw .invalidModule("the .cwasm header names no module digest: \(lines[1])") }
        guard !lines[2].isEmpty, offset < bytes.count else { throw .invalidModule("the .cwasm file holds no code") }
        self.module = module
        key = lines[2]
        code = Array(bytes[offset...])
    }

    /// The `.cwasm` file's bytes.
    public var encoded: [UInt8] {
        Array("\(Self.magic)\n\(module)\n\(key)\n".utf8) + code
    }
}

extension WasmRuntime {
    /// Compiles `bytes` with Wasmtime as a server with the same library would (`stratus compile`).
    public static func precompile(_ bytes: [UInt8], wasmtimeLibrary: String? = nil) throws(WasmError) -> PrecompiledModule {
        guard let path = wasmtimeLibrary ?? WasmtimeEngine.findLibrary() else {
            throw .engineUnavailable("no Wasmtime library: run `make setup-models` or set \(WasmtimeEngine.libraryPathVariable)")
        }
        let digest = StratusModel.Digest(hashBytes: Array(SHA256.hash(data: bytes)))
        _ = try PreparedModule(digest: digest, bytes: bytes)  // the same checks as an upload: a WASI command, known imports
        let engine = try WasmtimeEngine.open(path: path)
        return PrecompiledModule(module: digest, key: engine.codeKey, code: try engine.compile(bytes).serialize())
    }

    /// Takes code compiled elsewhere for `precompiled.module`: checked against this engine's key,
    /// loaded by Wasmtime (which checks its version and settings), kept in memory and in the
    /// compiled-code cache, so the module's upload and deploy compile nothing.
    public func acceptPrecompiled(_ precompiled: PrecompiledModule) async throws(WasmError) {
        guard let engine = wasmtime else { throw .engineUnavailable(wasmtimeUnavailable ?? "Wasmtime is not loaded") }
        guard precompiled.key == engine.codeKey else {
            throw .invalidModule("the code was compiled for \(precompiled.key); this server runs \(engine.codeKey): compile with the same Stratus release and Wasmtime library")
        }
        let code = try engine.deserialize(precompiled.code)
        compiled.withLock { $0[precompiled.module] = code }
        await cache?.storeCompiledCode(precompiled.code, module: precompiled.module, key: engine.codeKey)
    }
}
