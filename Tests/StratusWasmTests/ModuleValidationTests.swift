import StratusModel
import Testing
import WAT
@testable import StratusWasm

/// Bad modules are refused at preparation with an error that names the problem.
struct ModuleValidationTests {
    let runtime = WasmRuntime(threads: 1)
    let digest = Digest(hashBytes: Array(repeating: 7, count: 32))

    func prepare(_ bytes: [UInt8]) throws(WasmError) -> PreparedModule {
        try runtime.prepare(digest: Digest(hashBytes: Array(repeating: UInt8(bytes.count % 251), count: 32)), bytes: bytes)
    }

    @Test func rejectsGarbage() {
        #expect(throws: WasmError.self) { try prepare(Array("not wasm at all".utf8)) }
    }

    @Test func rejectsTruncatedModule() throws {
        let full = try wat2wasm(#"(module (memory (export "memory") 1) (func (export "_start") nop))"#)
        do {
            _ = try prepare(Array(full.prefix(full.count - 3)))
            Issue.record("a truncated module must be refused")
        } catch {
            guard case .invalidModule = error else { Issue.record("expected invalidModule, got \(error)"); return }
        }
    }

    @Test func rejectsModuleWithoutStart() throws {
        let bytes = try wat2wasm(#"(module (memory (export "memory") 1) (func (export "main") nop))"#)
        #expect(throws: WasmError.missingStart) { try prepare(bytes) }
    }

    @Test func rejectsModuleWithoutMemory() throws {
        let bytes = try wat2wasm(#"(module (func (export "_start") nop))"#)
        #expect(throws: WasmError.missingMemory) { try prepare(bytes) }
    }

    @Test func rejectsUnknownImports() throws {
        let bytes = try wat2wasm(#"""
            (module (import "env" "open_socket" (func)) (memory (export "memory") 1) (func (export "_start") nop))
            """#)
        #expect(throws: WasmError.unsupportedImport(module: "env", name: "open_socket")) { try prepare(bytes) }
    }

    @Test(arguments: WasmEngineKind.allCases) func rejectsInvalidFunctionBodiesAtValidation(engine: WasmEngineKind) async throws {
        // Type error inside a body: only found when the code is translated.
        let bytes = try wat2wasm(#"(module (memory (export "memory") 1) (func (export "_start") (drop (i32.const 1)) (drop)))"#, options: .init(nameSection: false))
        await #expect(throws: WasmError.self) { try await runtime.validate(digest: digest, bytes: bytes, engine: engine) }
    }

    @Test func acceptsMinimalCommand() throws {
        let bytes = try wat2wasm(#"(module (memory (export "memory") 1) (func (export "_start") nop))"#)
        let module = try prepare(bytes)
        #expect(module.size == bytes.count)
    }
}

/// Mutable globals get exported so warm instances can be reset.
struct GlobalExporterTests {
    @Test func exportsPrivateMutableGlobals() throws {
        let bytes = try wat2wasm(#"""
            (module
              (global $sp (mut i32) (i32.const 1024))
              (global $k i32 (i32.const 5))
              (global $seen (export "seen") (mut i64) (i64.const 0))
              (memory (export "memory") 1)
              (func (export "_start") (global.set $sp (i32.const 1))))
            """#)
        let (rewritten, names) = try GlobalExporter.instrument(bytes)
        #expect(Set(names) == ["__stratus_global_0", "seen"])
        // The rewritten module still parses and keeps its original exports.
        let module = try PreparedModule(digest: Digest(hashBytes: Array(repeating: 1, count: 32)), bytes: rewritten)
        #expect(module.mutableGlobals.contains("__stratus_global_0"))
    }

    @Test func createsAnExportSectionWhenThereIsNone() throws {
        let bytes = try wat2wasm(#"(module (global (mut i32) (i32.const 0)) (func))"#)
        let (rewritten, names) = try GlobalExporter.instrument(bytes)
        #expect(names == ["__stratus_global_0"])
        #expect(rewritten.count > bytes.count)
    }

    @Test func leavesModulesWithoutMutableGlobalsAlone() throws {
        let bytes = try wat2wasm(#"(module (global i32 (i32.const 0)) (func))"#)
        let (rewritten, names) = try GlobalExporter.instrument(bytes)
        #expect(names.isEmpty)
        #expect(rewritten == bytes)
    }

    @Test func encodesLEB128() {
        #expect(GlobalExporter.leb(0) == [0])
        #expect(GlobalExporter.leb(127) == [127])
        #expect(GlobalExporter.leb(128) == [0x80, 0x01])
        var cursor = 0
        #expect(GlobalExporter.readLEB([0xe5, 0x8e, 0x26], &cursor) == 624_485)
    }
}
