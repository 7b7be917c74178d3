import Foundation
import StratusTestSupport
import Testing

/// schemathesis (PyPI, installed by `make setup-test-deps`) fuzzes a live server from
/// docs/openapi.yaml: no 5xx, only documented status codes and content types. A bounded run with a
/// fixed seed here; `scripts/fuzz-api.sh` runs longer. What it found is fixed and stays fixed here.
@Suite(.serialized) struct APIFuzzTests {
    @Test func schemathesisFindsNoServerErrorsOrUndocumentedAnswers() throws {
        let root = WasmFixtures.repositoryRoot
        let fuzzer = root.appendingPathComponent(".cache/schemathesis")
        #expect(FileManager.default.fileExists(atPath: fuzzer.appendingPathComponent("schemathesis").path),
                "run `make setup-test-deps` (scripts/setup-test-deps.sh) first")
        let server = try ServerProcess(arguments: ["--log-level", "warning"])
        defer { server.destroy() }
        // Something to find: a function, a secret, a site and a layer named `echo` (the spec's example name).
        let environment = ["STRATUS_HOME": server.dataDirectory.path]
        #expect(try StratusBinary.run(["deploy", "--name", "echo", "--wasm", try WasmFixtures.path("echo").path, "--gateway", server.url],
                                      environment: environment).status == 0)
        #expect(try StratusBinary.run(["secret", "create", "echo", "--from-literal", "x", "--gateway", server.url], environment: environment).status == 0)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-site-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("<h1>echo</h1>".utf8).write(to: folder.appendingPathComponent("index.html"))
        #expect(try StratusBinary.run(["site", "deploy", "echo", folder.path, "--gateway", server.url], environment: environment).status == 0)
        #expect(try StratusBinary.run(["layer", "publish", "echo", folder.path, "--gateway", server.url], environment: environment).status == 0)

        let examples = ProcessInfo.processInfo.environment["STRATUS_API_FUZZ_EXAMPLES"] ?? "15"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "schemathesis.cli", "run", root.appendingPathComponent("docs/openapi.yaml").path, "--url", server.url,
                             "--auth", "admin:\(server.password ?? "")", "--max-examples", examples, "--seed", "20261129",
                             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance",
                             "--phases", "examples,coverage,fuzzing", "--no-color"]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONPATH": fuzzer.path, "HOME": folder.path]) { _, new in new }
        process.currentDirectoryURL = folder  // its .schemathesis/ cache lands there, not in the checkout
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let summary = text.components(separatedBy: "\n").filter { $0.contains("generated") || $0.contains("passed") || $0.contains("failures") }
        print("schemathesis: \(summary.joined(separator: " | "))")
        #expect(process.terminationStatus == 0, "schemathesis found problems:\n\(text.suffix(6000))")
        #expect(try StratusBinary.run(["version", "--gateway", server.url], environment: environment).status == 0, "the server is still up")
    }
}
