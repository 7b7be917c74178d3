import Foundation
import StratusModel
import StratusTestSupport
import Testing
import WAT
import WasmKit
@testable import StratusWasm

/// Malformed and adversarial modules: every one is refused with a WasmError or runs to an outcome
/// (exit, trap, timeout); none crashes or hangs the host. A bounded loop here; `STRATUS_FUZZ_ITERATIONS`
/// (or scripts/fuzz-wasm.sh) runs longer.
@Suite(.serialized) struct WasmFuzzTests {
    let runtime = WasmRuntime(threads: 2)

    /// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    enum Outcome: Equatable { case refused, ran }

    /// Prepares, validates, loads and runs `bytes` once; what happened, if it did not crash.
    func attempt(_ bytes: [UInt8], seed: UInt64, engine: WasmEngineKind) async -> Outcome {
        let digest = Digest(hashBytes: (0..<32).map { UInt8(truncatingIfNeeded: seed >> (($0 % 8) * 8)) ^ UInt8($0) })
        do {
            try await runtime.validate(digest: digest, bytes: bytes, engine: engine)
            let module = try runtime.prepare(digest: digest, bytes: bytes)
            var settings = FunctionSettings(timeout: 2, memoryLimit: 16 * 1024 * 1024)
            settings.wasmEngine = engine
            let function = try await runtime.load(module, settings: settings)
            _ = await runtime.run(function, request: GuestRequest(stdin: Array("fuzz".utf8), environment: [("A", "b")], arguments: ["f"],
                                                                  outputLimit: 1024 * 1024))
            return .ran
        } catch {
            return .refused
        }
    }

    static func mutate(_ base: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = base
        switch random.next() % 5 {
        case 0:  // truncated anywhere, sections cut short
            bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
        case 1:  // a few bytes flipped
            for _ in 0..<(1 + random.next() % 8) where !bytes.isEmpty {
                bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            }
        case 2:  // random bytes inserted
            let at = Int(random.next() % UInt64(bytes.count + 1))
            bytes.insert(contentsOf: (0..<(1 + random.next() % 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        case 3:  // a LEB128 size or count made huge
            let at = 8 + Int(random.next() % UInt64(max(1, bytes.count - 13)))
            if at + 5 <= bytes.count { bytes.replaceSubrange(at..<at + 5, with: [0xff, 0xff, 0xff, 0xff, 0x0f]) }
        default:  // a chunk duplicated
            let start = Int(random.next() % UInt64(bytes.count))
            let length = Int(random.next() % 64)
            bytes.insert(contentsOf: bytes[start..<min(bytes.count, start + length)], at: start)
        }
        return bytes
    }

    @Test(arguments: WasmEngineKind.allCases) func mutatedModulesAreRefusedOrRunButNeverCrashTheHost(engine: WasmEngineKind) async throws {
        let iterations = Int(ProcessInfo.processInfo.environment["STRATUS_FUZZ_ITERATIONS"] ?? "") ?? 300
        let seed = UInt64(ProcessInfo.processInfo.environment["STRATUS_FUZZ_SEED"] ?? "") ?? 0x5eed_cafe
        var random = Generator(state: seed)
        let bases = [try WasmFixtures.bytes("echo"), try WasmFixtures.bytes("env"), try WasmFixtures.bytes("readfile")]
        var outcomes: [Outcome: Int] = [:]
        for index in 0..<iterations {
            let base = bases[index % bases.count]
            let bytes = Self.mutate(base, &random)
            outcomes[await attempt(bytes, seed: random.state, engine: engine), default: 0] += 1
        }
        #expect(outcomes[.refused, default: 0] > 0, "mutations must hit the validator: \(outcomes)")
        #expect(outcomes[.ran, default: 0] > 0, "some mutations must still run (a validator that refused everything would pass otherwise): \(outcomes)")
        // The runtime is still fine afterwards.
        #expect(await attempt(try WasmFixtures.bytes("echo"), seed: 1, engine: engine) == .ran)
    }

    /// Every WASI host call with pointers and lengths at the end of (or past) linear memory: an
    /// errno (EFAULT and friends) or a trap, never a host crash.
    @Test(arguments: WasmEngineKind.allCases) func everyHostCallWithOutOfRangePointers(engine: WasmEngineKind) async throws {
        let weird: [String] = ["0xfffffff0", "0x7fffffff", "0xffff", "0"]
        var ran = 0
        for (name, type) in preview1Signatures.sorted(by: { $0.key < $1.key }) where name != "proc_exit" {
            for value in weird {
                let params = type.parameters.map { $0 == .i64 ? "i64" : "i32" }
                let arguments = type.parameters.map { $0 == .i64 ? "(i64.const \(value))" : "(i32.const \(value))" }.joined(separator: " ")
                let result = type.results.isEmpty ? "" : "(result i32)"
                let call = type.results.isEmpty ? "(call $f \(arguments))" : "(drop (call $f \(arguments)))"
                let text = """
                    (module
                      (import "wasi_snapshot_preview1" "\(name)" (func $f (param \(params.joined(separator: " "))) \(result)))
                      (memory (export "memory") 1)
                      (func (export "_start") \(call)))
                    """
                let bytes = try wat2wasm(params.isEmpty ? text.replacingOccurrences(of: "(param )", with: "") : text)
                if await attempt(bytes, seed: UInt64(ran + 1) &* 7919, engine: engine) == .ran { ran += 1 }
            }
        }
        #expect(ran > 100, "the modules are valid and must run: \(ran)")
    }

    @Test(arguments: WasmEngineKind.allCases) func hugeMemoriesAndTablesAreRefusedOrCapped(engine: WasmEngineKind) async throws {
        let modules = [
            #"(module (memory (export "memory") 65536) (func (export "_start") nop))"#,
            #"(module (memory (export "memory") 1 65536) (func (export "_start") (drop (memory.grow (i32.const 65535)))))"#,
            #"(module (memory (export "memory") 1) (table 10000000 funcref) (func (export "_start") nop))"#,
            #"(module (memory (export "memory") 1) (table 1 funcref) (func (export "_start") (drop (table.grow (ref.null func) (i32.const 100000000)))))"#,
            #"(module (memory (export "memory") 1) (func $r (call $r)) (func (export "_start") (call $r)))"#,
            #"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#,
        ]
        var outcomes: [Outcome] = []
        for (index, text) in modules.enumerated() {
            outcomes.append(await attempt(try wat2wasm(text), seed: UInt64(1000 + index), engine: engine))
        }
        // 4 GiB at start: refused. The others are valid: growing past the cap fails inside the
        // guest, recursion traps, the loop times out, and each still counts as a run.
        #expect(outcomes[0] == .refused)
        #expect(outcomes[1] == .ran && outcomes[4] == .ran && outcomes[5] == .ran, "\(outcomes)")
        #expect(await attempt(try WasmFixtures.bytes("echo"), seed: 2, engine: engine) == .ran)
    }

    @Test func aModuleAskingForGigabytesAtStartIsRefusedAtOnceWithTheReason() throws {
        let bytes = try wat2wasm(#"(module (memory (export "memory") 65536) (func (export "_start") nop))"#)
        do {
            _ = try runtime.prepare(digest: Digest(hashBytes: Array(repeating: 9, count: 32)), bytes: bytes)
            Issue.record("a 4 GiB initial memory must be refused")
        } catch {
            #expect(error.description.contains("starts at 4096 MiB"), "\(error)")
        }
    }
}
