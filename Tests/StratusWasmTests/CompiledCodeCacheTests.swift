import Foundation
import StratusModel
import StratusTestSupport
import Synchronization
import Testing
@testable import StratusWasm

/// Wasmtime's compiled code goes to the cache at the first compile and comes back from it after a
/// "restart" (a new runtime); code another Wasmtime version made is refused and compiled again.
@Suite(.serialized) struct CompiledCodeCacheTests {
    /// The cache a store would be, in memory.
    final class MemoryCache: CompiledCodeCache {
        let entries = Mutex<[String: [UInt8]]>([:])
        func compiledCode(module: Digest, key: String) async -> [UInt8]? { entries.withLock { $0["\(module) \(key)"] } }
        func storeCompiledCode(_ code: [UInt8], module: Digest, key: String) async { entries.withLock { $0["\(module) \(key)"] = code } }
        var only: (key: String, code: [UInt8])? { entries.withLock { $0.count == 1 ? $0.first.map { ($0.key, $0.value) } : nil } }
    }

    static func settings() -> FunctionSettings {
        var settings = FunctionSettings(timeout: 10)
        settings.wasmEngine = .wasmtime
        return settings
    }

    func echo(_ runtime: WasmRuntime, digest: Digest) async throws -> String {
        let module = try runtime.prepare(digest: digest, bytes: try WasmFixtures.bytes("echo"))
        let function = try await runtime.load(module, settings: Self.settings())
        let result = await runtime.run(function, request: GuestRequest(stdin: Array("cached?".utf8), environment: [], arguments: ["e"]))
        return String(decoding: result.stdout, as: UTF8.self)
    }

    @Test func aRestartLoadsTheCodeInsteadOfCompiling() async throws {
        let cache = MemoryCache()
        let digest = Digest(hashBytes: Array(repeating: 0xc1, count: 32))
        let first = try WasmRuntime(threads: 1, engine: .wasmtime, cache: cache)
        #expect(try await echo(first, digest: digest) == "cached?")
        #expect(first.compileCounts == CompileCounts(compiled: 1, loadedFromCache: 0, rejected: 0))
        let stored = try #require(cache.only)
        #expect(stored.key.contains("wasmtime-"), "the key names the engine: \(stored.key)")

        let second = try WasmRuntime(threads: 1, engine: .wasmtime, cache: cache)
        #expect(try await echo(second, digest: digest) == "cached?")
        #expect(second.compileCounts == CompileCounts(compiled: 0, loadedFromCache: 1, rejected: 0), "no compile after the restart")
    }

    @Test func codeFromAnotherWasmtimeVersionIsCompiledAgain() async throws {
        let cache = MemoryCache()
        let digest = Digest(hashBytes: Array(repeating: 0xc2, count: 32))
        let first = try WasmRuntime(threads: 1, engine: .wasmtime, cache: cache)
        _ = try await echo(first, digest: digest)
        let stored = try #require(cache.only)
        // The code records the Wasmtime version that made it (a length-prefixed "50" before the
        // target triple): make it claim 49, as an older server in the cluster would have written.
        var code = stored.code
        let marker: [UInt8] = [0x02] + Array("50".utf8) + [0x18] + Array("x86_64".utf8)
        let at = try #require(code.firstRange(of: marker), "the version string is where Wasmtime 50 writes it")
        code.replaceSubrange(at.lowerBound + 1..<at.lowerBound + 3, with: Array("49".utf8))
        cache.entries.withLock { $0[stored.key] = code }

        let second = try WasmRuntime(threads: 1, engine: .wasmtime, cache: cache)
        #expect(try await echo(second, digest: digest) == "cached?", "refused, compiled again, and it runs")
        #expect(second.compileCounts == CompileCounts(compiled: 1, loadedFromCache: 0, rejected: 1))
        #expect(cache.only?.code == stored.code, "the fresh code replaced the stale entry")
    }

    @Test func garbageInTheCacheIsRefused() async throws {
        let cache = MemoryCache()
        let digest = Digest(hashBytes: Array(repeating: 0xc3, count: 32))
        let first = try WasmRuntime(threads: 1, engine: .wasmtime, cache: cache)
        _ = try await echo(first, digest: digest)
        let key = try #require(cache.only).key
        cache.entries.withLock { $0[key] = Array(try! WasmFixtures.bytes("echo")) }  // Wasm bytes, not compiled code
        let second = try WasmRuntime(threads: 1, engine: .wasmtime, cache: cache)
        #expect(try await echo(second, digest: digest) == "cached?")
        #expect(second.compileCounts.rejected == 1 && second.compileCounts.compiled == 1)
    }

    @Test func wasmKitNeedsNoLibraryAndAMissingOneIsAClearError() throws {
        #expect(throws: WasmError.self) { try WasmRuntime(threads: 1, engine: .wasmtime, wasmtimeLibrary: "/nonexistent/libwasmtime.so") }
        let runtime = try WasmRuntime(threads: 1, engine: .wasmkit, wasmtimeLibrary: nil)
        #expect(runtime.defaultEngine == .wasmkit)
    }
}
