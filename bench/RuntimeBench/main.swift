// Per-call cost inside the runtime, for each module given on the command line: WasmKit with a
// brand-new instance per call vs. a pooled warm instance reset from its snapshot, and Wasmtime (a
// fresh instance per call from the pooling allocator). Release build: `make bench`.
import Foundation
import StratusModel
import StratusWasm
import Synchronization

/// The compiled-code cache as a store would be, in memory.
final class MemoryCache: CompiledCodeCache {
    let entries = Mutex<[String: [UInt8]]>([:])
    func compiledCode(module: Digest, key: String) async -> [UInt8]? { entries.withLock { $0["\(module) \(key)"] } }
    func storeCompiledCode(_ code: [UInt8], module: Digest, key: String) async { entries.withLock { $0["\(module) \(key)"] = code } }
}

/// Milliseconds since `begin`.
func milliseconds(since begin: ContinuousClock.Instant) -> Double {
    let elapsed = begin.duration(to: .now).components
    return Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) * 1e-15
}

@main
enum RuntimeBench {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard !arguments.isEmpty else {
            print("usage: stratus-runtime-bench [--iterations N] module.wasm…")
            return
        }
        var iterations = 2000
        var paths: [String] = []
        var index = 0
        while index < arguments.count {
            if arguments[index] == "--iterations", index + 1 < arguments.count {
                iterations = Int(arguments[index + 1]) ?? iterations
                index += 2
            } else {
                paths.append(arguments[index])
                index += 1
            }
        }
        // Load (deploy) time: Wasmtime compiling, Wasmtime from the compiled-code cache (a restart), WasmKit.
        print("module\tload\tms (best of 5)")
        for path in paths {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let name = URL(fileURLWithPath: path).lastPathComponent
            var best: [String: Double] = [:]
            for round in 0..<5 {
                let cache = MemoryCache()
                let digest = Digest(hashBytes: (0..<32).map { UInt8(truncatingIfNeeded: $0 &+ round &* 31 &+ bytes.count) })
                for (label, engine) in [("wasmtime-compile", WasmEngineKind.wasmtime), ("wasmtime-from-cache", .wasmtime), ("wasmkit", .wasmkit)] {
                    var settings = FunctionSettings()
                    settings.wasmEngine = engine
                    let runtime = try WasmRuntime(threads: 1, engine: nil, cache: cache)  // a new runtime: nothing compiled in memory
                    let begin = ContinuousClock.now
                    let module = try runtime.prepare(digest: digest, bytes: bytes)
                    _ = try await runtime.load(module, settings: settings)
                    let ms = milliseconds(since: begin)
                    best[label] = min(best[label] ?? .infinity, ms)
                }
            }
            for label in ["wasmtime-compile", "wasmtime-from-cache", "wasmkit"] {
                print("\(name)\t\(label)\t\(String(format: "%.2f", best[label] ?? 0))")
            }
        }

        let runtime = WasmRuntime(threads: 1)
        print("module\tmode\tcalls\tmedian_us\tp99_us")
        for path in paths {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var hash = [UInt8](repeating: 0, count: 32)
            for (offset, byte) in bytes.enumerated() { hash[offset % 32] &+= byte &* UInt8(truncatingIfNeeded: offset) }
            let module = try runtime.prepare(digest: Digest(hashBytes: hash), bytes: bytes)
            let name = URL(fileURLWithPath: path).lastPathComponent
            for (engine, pooling) in [(WasmEngineKind.wasmkit, false), (.wasmkit, true), (.wasmtime, true)] {
                if engine == .wasmtime, runtime.wasmtimeVersion == nil { continue }
                var settings = FunctionSettings()
                settings.wasmEngine = engine
                let function = try await runtime.load(module, settings: settings, pooling: pooling)
                let request = GuestRequest(stdin: Array("Hi".utf8), environment: [("Http_Method", "POST")], arguments: ["bench"])
                let count = pooling ? iterations * 10 : iterations
                var samples: [Double] = []
                samples.reserveCapacity(count)
                // A module that needs a real request (e.g. an image) has no per-call line: its load times stand.
                if case let outcome = await runtime.run(function, request: request).outcome, outcome != .exited(0) {
                    print("\(name)\t(calls skipped: a call with \"Hi\" ends \(outcome))")
                    break
                }
                let clock = ContinuousClock()
                for _ in 0..<count {
                    // Wall time of the whole call: thread hop, instance (fresh or reset), guest run.
                    var outcome = GuestOutcome.exited(0)
                    let elapsed = await clock.measure {
                        outcome = await runtime.run(function, request: request).outcome
                    }
                    guard case .exited(0) = outcome else { fatalError("\(name) failed on a later call: \(outcome)") }
                    let (seconds, attoseconds) = elapsed.components
                    samples.append(Double(seconds) * 1e6 + Double(attoseconds) * 1e-12)
                }
                samples.sort()
                let median = samples[samples.count / 2]
                let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
                print("\(name)\t\(engine == .wasmtime ? "wasmtime-fresh-instance" : pooling ? "wasmkit-warm-pooled" : "wasmkit-fresh-instance")\t\(count)\t\(String(format: "%.1f", median))\t\(String(format: "%.1f", p99))")
            }
        }
    }
}
