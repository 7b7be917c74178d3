public import StratusModel
import WasmKit

/// A validated module, parsed once per artifact digest and shared by every instance of it.
public final class PreparedModule: Sendable {
    public let digest: Digest
    let module: Module
    /// Export names of the mutable globals a reset must restore.
    let mutableGlobals: [String]
    /// Size of the uploaded bytes.
    public let size: Int
    /// The uploaded bytes (Wasmtime compiles them; WasmKit runs the parsed `module`).
    let bytes: [UInt8]
    /// Whether it imports host modules that do heavy work outside the guest (WASI-NN): such calls
    /// never run inline on the request's thread.
    public let usesHostWork: Bool
    /// Bytes of linear memory an instance starts with.
    public let initialMemoryBytes: Int
    /// The most memory a module may declare as its initial size.
    public static let maximumInitialMemory = 1024 * 1024 * 1024

    init(digest: Digest, bytes: [UInt8]) throws(WasmError) {
        let (instrumented, globals) = try GlobalExporter.instrument(bytes)
        let module: Module
        do {
            module = try parseWasm(bytes: instrumented)
        } catch {
            throw .invalidModule("\(error)")
        }
        guard module.exports.contains(where: { $0.name == "_start" && { if case .function = $0.descriptor { true } else { false } }($0) })
        else { throw .missingStart }
        guard module.exports.contains(where: { $0.name == "memory" }) else { throw .missingMemory }
        // Every instance starts with this much memory, zero-filled: a module asking for gigabytes
        // would make each deploy and cold start that slow (4 GiB took 20 s here). Refused up front.
        let pages = GlobalExporter.initialMemoryPages(bytes) ?? 0
        initialMemoryBytes = Int(pages) * 65536
        guard initialMemoryBytes <= Self.maximumInitialMemory else {
            throw .invalidModule("its memory starts at \(initialMemoryBytes / (1024 * 1024)) MiB (\(pages) pages); a function may start with at most \(Self.maximumInitialMemory / (1024 * 1024)) MiB and grow from there")
        }
        var usesHostWork = false
        for entry in module.imports {
            guard case .function = entry.descriptor else { throw .unsupportedImport(module: entry.module, name: entry.name) }
            switch entry.module {
            case wasiModuleName where preview1Signatures[entry.name] != nil: continue
            case WASINNHost.moduleName where WASINNHost.signatures[entry.name] != nil: usesHostWork = true
            case WASINNHost.extensionModuleName where WASINNHost.extensionSignatures[entry.name] != nil: usesHostWork = true
            case ImageHost.moduleName where ImageHost.signatures[entry.name] != nil: usesHostWork = true
            case ImageHost.wasmEdgeModuleName where ImageHost.wasmEdgeSignatures[entry.name] != nil: usesHostWork = true
            default: throw .unsupportedImport(module: entry.module, name: entry.name)
            }
        }
        self.usesHostWork = usesHostWork
        self.digest = digest
        self.module = module
        self.mutableGlobals = globals
        self.size = bytes.count
        self.bytes = bytes
    }
}
