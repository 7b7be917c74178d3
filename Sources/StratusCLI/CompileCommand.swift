import ArgumentParser
import Foundation
import StratusWasm

/// `stratus compile`: Wasmtime's ahead-of-time compile of a module, done here instead of on the server.
struct Compile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a Wasm module ahead of time with Wasmtime (Cranelift), as the server would.",
        discussion: """
            Writes FILE.cwasm: the module's digest, the engine it was compiled for (Wasmtime's version and \
            settings) and the native code. A server started with --trust-precompiled and the same Wasmtime \
            takes it (`stratus deploy --precompiled` / `stratus up --precompiled` send it for you), so deploying \
            the module compiles nothing there. Servers without that flag refuse it, and any server compiles \
            the .wasm itself otherwise.
            """)

    @Argument(help: "The .wasm module (a WASI command).") var file: String
    @Option(name: [.short, .long], help: "Where to write the code (default: FILE with .cwasm).") var output: String?
    @Option(name: .customLong("wasmtime-library"), help: "Wasmtime's library (env STRATUS_WASMTIME; default .cache/wasmtime/lib/libwasmtime.so).")
    var wasmtimeLibrary: String?

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        let target = output ?? (file.hasSuffix(".wasm") ? String(file.dropLast(5)) : file) + ".cwasm"
        let begin = ContinuousClock.now
        let compiled: PrecompiledModule
        do { compiled = try WasmRuntime.precompile(Array(data), wasmtimeLibrary: wasmtimeLibrary) } catch { throw CLIError("\(file): \(error)") }
        let elapsed = begin.duration(to: .now)
        guard FileManager.default.createFile(atPath: target, contents: Data(compiled.encoded)) else { throw CLIError("cannot write \(target)") }
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
        print("Compiled \(file) (\(data.count) bytes, \(compiled.module)) for \(compiled.key) in \(String(format: "%.0f", ms)) ms: \(target) (\(compiled.code.count) bytes)")
    }
}
