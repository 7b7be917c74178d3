import Foundation
import StratusTestSupport
import Testing

/// The two Wasm engines through `stratus serve`: which one runs a function (flag, annotation,
/// fallback), and Wasmtime's compiled code kept in the store across restarts.
@Suite(.serialized) struct WasmEngineTests {
    func cli(_ server: ServerProcess, _ arguments: [String], stdin: String = "") throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path], stdin: stdin)
    }

    func auth(_ server: ServerProcess) -> String {
        "Authorization: Basic " + Data("admin:\(server.password ?? "")".utf8).base64EncodedString()
    }

    /// `GET /system/function/NAME`'s `engine`.
    func engine(_ server: ServerProcess, _ name: String) throws -> String? {
        let body = try Curl.run(["-fsS", "-H", auth(server), "\(server.url)/system/function/\(name)"])
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["engine"] as? String
    }

    func deploy(_ server: ServerProcess, _ json: String) throws -> (status: Int, head: String, body: String) {
        try Curl.request("\(server.url)/system/functions", body: json, headers: ["Content-Type: application/json", auth(server)])
    }

    /// Lines of the server's log that match `text`.
    func count(_ text: String, in output: String) -> Int { output.components(separatedBy: "\n").filter { $0.contains(text) }.count }

    @Test func compiledCodeSurvivesARestartAndDamagedCodeIsCompiledAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-engine-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let compiled = "Wasmtime compiled a module", loaded = "Wasmtime code loaded from the compiled-code cache"

        let first = try ServerProcess(dataDirectory: directory)
        #expect(first.output.contains("Wasm functions run on Wasmtime"), "\(first.output)")
        let deployed = try cli(first, ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(count(compiled, in: first.output) == 1, "compiled once, at upload; the deploy reuses it:\n\(first.output)")
        #expect(try engine(first, "echo") == "wasmtime")
        #expect(try cli(first, ["describe", "echo"]).stdout.contains("wasmtime"))
        #expect(first.stop() == 0)

        let second = try ServerProcess(dataDirectory: directory)
        #expect(try cli(second, ["invoke", "echo"], stdin: "from the cache").stdout == "from the cache")
        #expect(count(loaded, in: second.output) == 1, "\(second.output)")
        #expect(count(compiled, in: second.output) == 0, "no compile after a restart:\n\(second.output)")
        let metrics = try Curl.run(["-fsS", "\(second.url)/metrics"])
        #expect(metrics.contains(#"stratus_wasm_compiles_total{source="cache"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"stratus_wasm_compiles_total{source="compiled"} 0"#))
        #expect(second.stop() == 0)

        // Damage the stored code in the middle (Wasmtime itself would load such bytes without a word).
        let tag = try WasmFixtures.output("/usr/bin/sqlite3", ["-cmd", ".timeout 10000", directory.appendingPathComponent("stratus.db").path,
                                                               "SELECT digest FROM artifactTag WHERE name LIKE 'stratus-compiled/%'"])
        let digest = try #require(tag.split(separator: "\n").first.map { String($0.dropFirst("sha256:".count)) })
        let blob = directory.appendingPathComponent("artifacts/sha256/\(digest)")
        var bytes = [UInt8](try Data(contentsOf: blob))
        for index in (bytes.count / 2)..<(bytes.count / 2 + 64) { bytes[index] ^= 0x5a }
        try Data(bytes).write(to: blob)

        let third = try ServerProcess(dataDirectory: directory)
        #expect(try cli(third, ["invoke", "echo"], stdin: "compiled again").stdout == "compiled again")
        #expect(third.output.contains("compiled-code cache entry cannot be read"), "\(third.output)")
        #expect(count(compiled, in: third.output) == 1 && count(loaded, in: third.output) == 0, "\(third.output)")
        #expect(third.stop() == 0)

        // The fresh code replaced the damaged copy: the next start loads it again.
        let fourth = try ServerProcess(dataDirectory: directory)
        defer { fourth.destroy() }
        #expect(try cli(fourth, ["invoke", "echo"], stdin: "healed").stdout == "healed")
        #expect(count(loaded, in: fourth.output) == 1 && count(compiled, in: fourth.output) == 0, "\(fourth.output)")
    }

    @Test func theFlagAndTheAnnotationPickTheEngine() throws {
        let server = try ServerProcess(arguments: ["--wasm-engine", "wasmkit"])
        defer { server.destroy() }
        #expect(server.output.contains("run on WasmKit (interpreted), as --wasm-engine asks"), "\(server.output)")
        #expect(try cli(server, ["deploy", "--name", "plain", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        #expect(try engine(server, "plain") == "wasmkit")
        let compiled = try deploy(server, #"{"service": "fast", "image": "plain:latest", "annotations": {"com.stratus.wasm.engine": "wasmtime"}}"#)
        #expect(compiled.status == 202, "\(compiled)")
        #expect(try engine(server, "fast") == "wasmtime")
        #expect(try Curl.request("\(server.url)/function/fast", body: "compiled").body == "compiled")
        #expect(try Curl.request("\(server.url)/function/plain", body: "interpreted").body == "interpreted")
        // The UI's numbers name the engine too.
        let stats = try Curl.run(["-fsS", "-H", auth(server), "\(server.url)/system/stats"])
        let rows = ((try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [String: Any])?["functions"] as? [[String: Any]]) ?? []
        #expect(Set(rows.compactMap { row in (row["name"] as? String).map { "\($0)=\(row["engine"] as? String ?? "-")" } })
                    .isSuperset(of: ["plain=wasmkit", "fast=wasmtime"]), "\(stats)")
        let list = try cli(server, ["describe", "fast"])
        #expect(list.stdout.contains("Engine:") && list.stdout.contains("wasmtime"), "\(list.stdout)")

        let bad = try deploy(server, #"{"service": "odd", "image": "plain:latest", "annotations": {"com.stratus.wasm.engine": "v8"}}"#)
        #expect(bad.status == 400 && bad.body.contains("com.stratus.wasm.engine") && bad.body.contains("v8"), "\(bad)")
        #expect(try Curl.status(["-X", "POST", "\(server.url)/function/odd"]) == 404, "nothing was deployed")
    }

    @Test func codeCompiledAheadOfTimeIsTakenOnlyByAServerThatTrustsIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-cwasm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let wasm = try WasmFixtures.path("echo").path
        let target = directory.appendingPathComponent("echo.cwasm")
        let compiled = try StratusBinary.run(["compile", wasm, "-o", target.path])
        #expect(compiled.status == 0 && compiled.stdout.contains("Compiled") && compiled.stdout.contains("wasmtime-"), "\(compiled.stdout)\(compiled.stderr)")
        let garbage = directory.appendingPathComponent("garbage.wasm")
        try Data("not wasm".utf8).write(to: garbage)
        let refusedCompile = try StratusBinary.run(["compile", garbage.path])
        #expect(refusedCompile.status != 0 && refusedCompile.stderr.contains("invalid WebAssembly module"), "\(refusedCompile.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("garbage.cwasm").path), "nothing written")
        let file = [UInt8](try Data(contentsOf: target))
        #expect(file.starts(with: Array("STRATUS-CWASM 1\n".utf8)))

        let wary = try ServerProcess()
        defer { wary.destroy() }
        let refused = try cli(wary, ["deploy", "--name", "echo", "--wasm", wasm, "--precompiled"])
        #expect(refused.status != 0 && refused.stderr.contains("403") && refused.stderr.contains("--trust-precompiled"), "\(refused.stderr)")
        #expect(!wary.output.contains("precompiled Wasmtime code taken"))

        let trusting = try ServerProcess(arguments: ["--trust-precompiled"])
        defer { trusting.destroy() }
        let deployed = try cli(trusting, ["deploy", "--name", "echo", "--wasm", wasm, "--precompiled"])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(try cli(trusting, ["invoke", "echo"], stdin: "ahead of time").stdout == "ahead of time")
        #expect(trusting.output.contains("precompiled Wasmtime code taken"), "\(trusting.output)")
        #expect(count("Wasmtime compiled a module", in: trusting.output) == 0, "the server compiled nothing:\n\(trusting.output)")

        // Code for another engine (its key says so) or not code at all: 400, naming the problem.
        let text = String(decoding: file, as: UTF8.self)
        let key = text.split(separator: "\n")[2]
        let foreign = Array(String(decoding: file, as: UTF8.self).replacingOccurrences(of: String(key), with: "wasmtime-49.0.0-other").utf8)
        try Data(foreign).write(to: target)
        let auth = "Authorization: Basic " + Data("admin:\(trusting.password ?? "")".utf8).base64EncodedString()
        let wrongKey = try Curl.run(["-sS", "-w", "%{http_code}", "--data-binary", "@\(target.path)", "-H", auth, "\(trusting.url)/system/artifacts?kind=compiled"])
        #expect(wrongKey.hasSuffix("400") && wrongKey.contains("wasmtime-49.0.0-other"), "\(wrongKey)")
        try Data(Array("STRATUS-CWASM 1\n".utf8) + Array("sha256:\(String(repeating: "a", count: 64))\n\(key)\n".utf8) + Array(repeating: 7, count: 4096)).write(to: target)
        let junk = try Curl.run(["-sS", "-w", "%{http_code}", "--data-binary", "@\(target.path)", "-H", auth, "\(trusting.url)/system/artifacts?kind=compiled"])
        #expect(junk.hasSuffix("400"), "\(junk)")
        #expect(try Curl.request("\(trusting.url)/function/echo", body: "still fine").body == "still fine")
    }

    @Test func withoutItsLibraryTheServerFallsBackToWasmKitAndSaysWhy() throws {
        let server = try ServerProcess(environment: ["STRATUS_WASMTIME": "/nonexistent/libwasmtime.so"])
        defer { server.destroy() }
        #expect(count("Wasm functions run on WasmKit (interpreted): no Wasmtime library at /nonexistent", in: server.output) == 1, "\(server.output)")
        #expect(try cli(server, ["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path]).status == 0)
        #expect(try engine(server, "echo") == "wasmkit")
        let asks = try deploy(server, #"{"service": "wants", "image": "echo:latest", "annotations": {"com.stratus.wasm.engine": "wasmtime"}}"#)
        #expect(asks.status == 400 && asks.body.contains("Wasmtime"), "\(asks)")

        for (arguments, message) in [(["--wasm-engine", "v8"], "must be 'wasmtime' or 'wasmkit'"),
                                     (["--wasm-engine", "wasmtime", "--wasmtime-library", "/nonexistent/lib.so"], "no Wasmtime library at /nonexistent/lib.so")] {
            let refused = try StratusBinary.run(["serve", "--port", "0", "--data-dir",
                                                 FileManager.default.temporaryDirectory.appendingPathComponent("stratus-e-\(UUID().uuidString)").path] + arguments)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(refused.stderr)")
        }
    }
}
