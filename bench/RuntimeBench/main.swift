// Per-call cost inside the runtime: a brand-new instance per call vs. a pooled warm instance reset
// from its snapshot, for each module given on the command line. Release build: `make bench`.
import Foundation
import StratusModel
import StratusWasm

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
        let runtime = WasmRuntime(threads: 1)
        print("module\tmode\tcalls\tmedian_us\tp99_us")
        for path in paths {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var hash = [UInt8](repeating: 0, count: 32)
            for (offset, byte) in bytes.enumerated() { hash[offset % 32] &+= byte &* UInt8(truncatingIfNeeded: offset) }
            let module = try runtime.prepare(digest: Digest(hashBytes: hash), bytes: bytes)
            let name = URL(fileURLWithPath: path).lastPathComponent
            for pooling in [false, true] {
                let function = try await runtime.load(module, settings: FunctionSettings(), pooling: pooling)
                let request = GuestRequest(stdin: Array("Hi".utf8), environment: [("Http_Method", "POST")], arguments: ["bench"])
                let count = pooling ? iterations * 10 : iterations
                var samples: [Double] = []
                samples.reserveCapacity(count)
                let clock = ContinuousClock()
                for _ in 0..<count {
                    // Wall time of the whole call: thread hop, instance (fresh or reset), guest run.
                    var outcome = GuestOutcome.exited(0)
                    let elapsed = await clock.measure {
                        outcome = await runtime.run(function, request: request).outcome
                    }
                    guard case .exited(0) = outcome else { fatalError("\(name) failed: \(outcome)") }
                    let (seconds, attoseconds) = elapsed.components
                    samples.append(Double(seconds) * 1e6 + Double(attoseconds) * 1e-12)
                }
                samples.sort()
                let median = samples[samples.count / 2]
                let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
                print("\(name)\t\(pooling ? "warm-pooled" : "fresh-instance")\t\(count)\t\(String(format: "%.1f", median))\t\(String(format: "%.1f", p99))")
            }
        }
    }
}
