import Foundation
import StratusTemplates
import Testing

/// Builds real handlers with the installed toolchain and runs them with the `wasmkit` CLI.
@Suite("Building functions to WebAssembly")
struct BuildTests {
    let wasmMagic: [UInt8] = [0x00, 0x61, 0x73, 0x6D]

    /// Scaffolds `language`'s hello template and builds it; returns the module.
    func buildHello(_ language: TemplateLanguage, in directory: URL) throws -> (URL, BuildResult) {
        let scaffold = try Templates.scaffold(name: "hello", language: language, in: directory)
        let output = directory.appendingPathComponent("build/hello/function.wasm")
        let result = try WasmBuilder().build(language: language, handlerDirectory: scaffold.functionDirectory, output: output)
        return (output, result)
    }

    @Test("The hello template builds to a module that answers 'Hello! You said: Hi'", arguments: TemplateLanguage.allCases.filter(\.buildsWasm))
    func helloTemplate(language: TemplateLanguage) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (output, result) = try buildHello(language, in: directory)
        let bytes = [UInt8](try Data(contentsOf: output))
        #expect(Array(bytes.prefix(4)) == wasmMagic)
        #expect(result.size == bytes.count)
        #expect(result.sources.map(\.lastPathComponent) == [language == .swiftWasm ? "handler.swift" : "handler.c"])
        // Only the template's files: the build never writes into the handler folder.
        let handlerFiles = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("hello").path)
        #expect(handlerFiles.sorted() == Templates.template(for: language).files.map(\.path).sorted())

        guard WasmKitCLI.isAvailable else { return }  // swiftSDKContract reports the skip
        let run = try WasmKitCLI.run(output, stdin: "Hi")
        #expect(run.status == 0)
        #expect(run.stdout == "Hello! You said: Hi")
    }

    @Test("Process templates build to a bundle whose fprocess answers 'Hello! You said: Hi'", arguments: [TemplateLanguage.python3, .bash])
    func processTemplateBundle(language: TemplateLanguage) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let scaffold = try Templates.scaffold(name: "hello", language: language, in: directory)
        let output = directory.appendingPathComponent("build/hello/\(language.artifactFileName)")
        let result = try WasmBuilder().build(language: language, handlerDirectory: scaffold.functionDirectory, output: output)
        let bytes = [UInt8](try Data(contentsOf: output))
        #expect(Array(bytes.prefix(2)) == [0x1f, 0x8b], "a gzip'd tar")
        #expect(result.size == bytes.count)
        // Unpack and run the template's command the way the process runtime does.
        let unpacked = directory.appendingPathComponent("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", output.path, "-C", unpacked.path]
        try tar.run()
        tar.waitUntilExit()
        let command = try #require(language.fprocess).split(separator: " ").map(String.init)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = command
        run.currentDirectoryURL = unpacked
        let input = Pipe(), outputPipe = Pipe()
        run.standardInput = input
        run.standardOutput = outputPipe
        try run.run()
        input.fileHandleForWriting.write(Data("Hi".utf8))
        try input.fileHandleForWriting.close()
        let answer = String(decoding: outputPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        #expect(answer == "Hello! You said: Hi\n")
    }

    @Test("The Swift SDK reads the body, the Http_* variables, headers and env; failure exits non-zero",
          .enabled(if: WasmKitCLI.isAvailable, "needs the wasmkit CLI (/opt/swift/usr/bin/wasmkit) to run the module"))
    func swiftSDKContract() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let handler = directory.appendingPathComponent("echo")
        try write("""
            func handle(_ request: Request) -> Response {
                log("handling \\(request.method)")
                print("printed before the body")
                if request.text == "fail" { return Response(status: .failure, body: "it failed") }
                if request.text == "seven" { return Response(exitCode: 7, body: "seven") }
                return Response(body: describe(request))
            }
            """, to: handler.appendingPathComponent("handler.swift"))
        // A second file, in a subfolder, is compiled into the same module.
        try write("""
            func describe(_ request: Request) -> String {
                var text = "method=\\(request.method) path=\\(request.path) type=\\(request.contentType)\\n"
                text += "x-request-id=\\(request.header("x-request-id") ?? "-") missing=\\(request.header("X-Missing") ?? "-")\\n"
                text += "MY_VAR=\\(request.env("MY_VAR") ?? "-") bytes=\\(request.body.count) text=\\(request.text)\\n"
                let parsed = Request(method: "", path: "", query: "a=1&name=J%C3%BCrgen+K", contentType: "",
                                     headers: [], environment: [], body: [])
                text += "name=\\(parsed.queryParameter("name") ?? "-") b=\\(parsed.queryParameter("b") ?? "-")\\n"
                return text
            }
            """, to: handler.appendingPathComponent("support/describe.swift"))
        let output = directory.appendingPathComponent("echo.wasm")
        let result = try WasmBuilder().build(language: .swiftWasm, handlerDirectory: handler, output: output)
        #expect(result.sources.map(\.lastPathComponent) == ["handler.swift", "describe.swift"])

        let environment = [
            "Http_Method": "PUT", "Http_Path": "/items/7", "Http_Content_Type": "text/plain",
            "Http_X_Request_Id": "abc-123", "MY_VAR": "from env",
        ]
        let run = try WasmKitCLI.run(output, stdin: "héllo", environment: environment)
        #expect(run.status == 0)
        #expect(run.stdout == """
            printed before the body
            method=PUT path=/items/7 type=text/plain
            x-request-id=abc-123 missing=-
            MY_VAR=from env bytes=6 text=héllo
            name=Jürgen K b=-

            """)
        #expect(run.stderr == "handling PUT\n")

        let failed = try WasmKitCLI.run(output, stdin: "fail")
        #expect(failed.status == 1)
        #expect(failed.stdout == "printed before the body\nit failed")
        #expect(try WasmKitCLI.run(output, stdin: "seven").status == 7)

        // A body larger than the SDK's read chunk arrives whole.
        let large = String(repeating: "0123456789abcdef", count: 5000)
        let big = try WasmKitCLI.run(output, stdin: large)
        #expect(big.stdout.contains("bytes=80000 text=\(large)\n"))
        // With a Content-Length the body is read in place; a wrong one (too small or too large) changes nothing.
        for length in ["80000", "10", "999999", "junk"] {
            let sized = try WasmKitCLI.run(output, stdin: large, environment: ["Http_Content_Length": length])
            #expect(sized.stdout.contains("bytes=80000 text=\(large)\n"), "Content-Length \(length)")
        }
    }

    @Test("The Swift SDK's helpers: base64, top-k, decimals, badRequest exits 65; unused host imports are not linked",
          .enabled(if: WasmKitCLI.isAvailable, "needs the wasmkit CLI (/opt/swift/usr/bin/wasmkit) to run the module"))
    func swiftSDKHelpers() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let handler = directory.appendingPathComponent("helpers")
        try write("""
            func handle(_ request: Request) -> Response {
                guard let bytes = base64Decode(request.body) else { return Response(status: .badRequest, body: "not base64") }
                var text = "decoded=" + String(decoding: bytes, as: UTF8.self) + "\\n"
                let best = topK([0.1, 0.7, 0.05, 0.7, 0.15], 3)
                for entry in best { text += "\\(entry.index):" + formatDecimal(entry.score, places: 2) + " " }
                text += "\\n" + formatDecimal(38.674, places: 2) + " " + formatDecimal(0.0049, places: 2) + " "
                text += formatDecimal(-1.5, places: 1) + " " + formatDecimal(99.999, places: 2) + " " + formatDecimal(7, places: 0)
                text += " " + NNError(code: 8).name + " " + NNError(code: 42).name
                return Response(body: text)
            }
            """, to: handler.appendingPathComponent("handler.swift"))
        let output = directory.appendingPathComponent("helpers.wasm")
        _ = try WasmBuilder().build(language: .swiftWasm, handlerDirectory: handler, output: output)
        // The module runs under a plain WASI runtime: the WASI-NN and image imports it does not use are absent.
        let run = try WasmKitCLI.run(output, stdin: "SGk/IHlvdSBzYWlkOiBo\nw6lsbG8=")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "decoded=Hi? you said: h\u{e9}llo\n1:0.70 3:0.70 4:0.15 \n38.67 0.00 -1.5 100.00 7 not_found error 42")
        // URL-safe alphabet and missing padding decode too; a stray character is refused with exit 65 (HTTP 400).
        #expect(try WasmKitCLI.run(output, stdin: "SGk_").stdout.hasPrefix("decoded=Hi?\n"))
        let bad = try WasmKitCLI.run(output, stdin: "SGk*")
        #expect(bad.status == 65 && bad.stdout == "not base64")
        #expect(try WasmKitCLI.run(output, stdin: "SGkh=x").status == 65, "data after padding")
    }

    @Test("A Swift syntax error fails with the compiler's message naming handler.swift and the line")
    func swiftSyntaxError() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let handler = directory.appendingPathComponent("broken")
        try write("""
            func handle(_ request: Request) -> Response {
                let greeting = "Hello"
                Response(body: greeting +)
            }
            """, to: handler.appendingPathComponent("handler.swift"))
        let error = #expect(throws: BuildError.self) {
            try WasmBuilder().build(language: .swiftWasm, handlerDirectory: handler, output: directory.appendingPathComponent("x.wasm"))
        }
        guard case .compileFailed(let stderr) = error?.kind else {
            Issue.record("expected compileFailed, got \(String(describing: error))")
            return
        }
        #expect(stderr.contains(handler.appendingPathComponent("handler.swift").path + ":3:"))
        #expect(stderr.contains("error:"))
        #expect(!stderr.contains("stratus-build-"))  // no temporary build paths
        #expect(error?.description.contains("handler.swift:3:") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("x.wasm").path))
    }

    @Test("A Swift handler without handle() gets a hint; a C error names handler.c and the line")
    func missingHandleAndCError() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let swift = directory.appendingPathComponent("nohandle")
        try write("func something() {}\n", to: swift.appendingPathComponent("handler.swift"))
        let swiftError = #expect(throws: BuildError.self) {
            try WasmBuilder().build(language: .swiftWasm, handlerDirectory: swift, output: directory.appendingPathComponent("a.wasm"))
        }
        #expect(swiftError?.diagnostics?.contains("cannot find 'handle' in scope") == true)
        #expect(swiftError?.diagnostics?.contains("<stratus-sdk>/Stratus.swift:") == true)
        #expect(swiftError?.diagnostics?.contains("hint: define `func handle(_ request: Request) -> Response`") == true)

        let c = directory.appendingPathComponent("cbroken")
        try write("#include <stdio.h>\nint main(void) {\n    printf(\"x\")\n}\n", to: c.appendingPathComponent("handler.c"))
        let cError = #expect(throws: BuildError.self) {
            try WasmBuilder().build(language: .cWasm, handlerDirectory: c, output: directory.appendingPathComponent("b.wasm"))
        }
        #expect(cError?.diagnostics?.contains(c.appendingPathComponent("handler.c").path + ":3:") == true)
    }

    @Test("Missing toolchain pieces name the apt packages; missing sources and folders are reported")
    func missingPieces() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("x.wasm")
        let bare = WasmBuilder(toolchain: WasmToolchain())
        let error = #expect(throws: BuildError.self) {
            try bare.build(language: .swiftWasm, handlerDirectory: directory, output: output)
        }
        guard case .missingTool(let name, let hint) = error?.kind else {
            Issue.record("expected missingTool, got \(String(describing: error))")
            return
        }
        #expect(name.contains("wasi-libc") && name.contains("swiftc"))
        #expect(hint.contains("apt-get install -y wasi-libc") && hint.contains("libclang-rt-14-dev-wasm32"))

        let empty = directory.appendingPathComponent("empty")
        try write("notes\n", to: empty.appendingPathComponent("README.md"))
        let noSources = #expect(throws: BuildError.self) {
            try WasmBuilder().build(language: .cWasm, handlerDirectory: empty, output: output)
        }
        #expect(noSources?.kind == .noSources(directory: empty.path, fileExtension: "c"))
        let absent = #expect(throws: BuildError.self) {
            try WasmBuilder().build(language: .cWasm, handlerDirectory: directory.appendingPathComponent("nope"), output: output)
        }
        #expect(absent?.kind == .handlerNotFound(path: directory.appendingPathComponent("nope").path))
    }

    @Test("buildInBackground builds off the cooperative threads")
    func backgroundBuild() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let scaffold = try Templates.scaffold(name: "bg", language: .cWasm, in: directory)
        let output = directory.appendingPathComponent("bg.wasm")
        let result = try await WasmBuilder().buildInBackground(language: .cWasm, handlerDirectory: scaffold.functionDirectory, output: output)
        #expect(result.output == output)
        #expect(Array([UInt8](try Data(contentsOf: output)).prefix(4)) == wasmMagic)
    }
}

/// The http-mode templates (python3-http, node): their server answers on `$PORT` the way OpenFaaS's do.
@Suite("http-mode templates") struct HTTPTemplateTests {
    /// Builds `language`'s template with `handler` (or the scaffolded one), unpacks it and starts its fprocess on a free port.
    func start(_ language: TemplateLanguage, handler: String?, in directory: URL) throws -> (Process, Int) {
        let scaffold = try Templates.scaffold(name: "web", language: language, in: directory)
        if let handler {
            try write(handler, to: scaffold.functionDirectory.appendingPathComponent("handler.\(language.sourceExtension)"))
        }
        let output = directory.appendingPathComponent("build/web/\(language.artifactFileName)")
        _ = try WasmBuilder().build(language: language, handlerDirectory: scaffold.functionDirectory, output: output)
        let unpacked = directory.appendingPathComponent("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        #expect(try Self.tool("/bin/tar", ["-xzf", output.path, "-C", unpacked.path]).status == 0)
        let port = Int(try Self.tool("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = try #require(language.fprocess).split(separator: " ").map(String.init)
        server.currentDirectoryURL = unpacked
        server.environment = ["PATH": "/usr/bin:/bin", "PORT": String(port)]
        server.standardError = FileHandle.nullDevice
        try server.run()
        for _ in 0..<200 {
            if (try? Self.tool("/usr/bin/curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/"]))?.status == 0 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return (server, port)
    }

    /// (status code, headers, body) of one call.
    func call(_ port: Int, _ method: String, _ path: String, body: String? = nil, type: String = "text/plain") throws -> (Int, String, String) {
        var arguments = ["-s", "-D", "-", "-X", method, "-H", "Content-Type: \(type)", "http://127.0.0.1:\(port)\(path)"]
        if let body { arguments += ["--data-binary", body] }
        let text = try Self.tool("/usr/bin/curl", arguments).output
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let code = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (code, head, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func tool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("The scaffolded handler answers 'Hello! You said: Hi'", arguments: [TemplateLanguage.python3Http, .node])
    func helloTemplate(language: TemplateLanguage) throws {
        #expect(language.processMode == "http")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (server, port) = try start(language, handler: nil, in: directory)
        defer { kill(server.processIdentifier, SIGKILL) }  // the test's threads block SIGTERM, and children inherit the mask
        let (status, _, body) = try call(port, "POST", "/", body: "Hi")
        #expect(status == 200)
        #expect(body == "Hello! You said: Hi")
    }

    @Test func python3HTTPHandlersReturnStatusHeadersAndJSONOrRaise() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (server, port) = try start(.python3Http, handler: """
            def handle(event, context):
                if event.path == "/json":
                    return {"statusCode": 201, "body": {"method": event.method, "q": event.query.get("q")}, "headers": {"X-Handler": "yes"}}
                if event.path == "/fail":
                    raise ValueError("boom")
                return event.body
            """, in: directory)
        defer { kill(server.processIdentifier, SIGKILL) }  // the test's threads block SIGTERM, and children inherit the mask
        let (status, head, body) = try call(port, "GET", "/json?q=1")
        #expect(status == 201)
        #expect(head.contains("X-Handler: yes"))
        #expect(head.contains("Content-Type: application/json"))
        #expect(body == #"{"method": "GET", "q": "1"}"#)
        #expect(try call(port, "POST", "/fail", body: "x").0 == 500)
        #expect(try call(port, "POST", "/raw", body: "raw bytes").2 == "raw bytes", "bytes come back as they are")
    }

    @Test func nodeHandlersUseContextAndGetJSONBodiesParsed() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (server, port) = try start(.node, handler: """
            module.exports = async (event, context) => {
              if (event.path === '/json') return context.status(201).headers({ 'X-Handler': 'yes' }).succeed({ method: event.method, q: event.query.q, name: event.body.name })
              if (event.path === '/fail') throw new Error('boom')
              return event.body
            }
            """, in: directory)
        defer { kill(server.processIdentifier, SIGKILL) }  // the test's threads block SIGTERM, and children inherit the mask
        let (status, head, body) = try call(port, "POST", "/json?q=1", body: #"{"name": "ada"}"#, type: "application/json")
        #expect(status == 201)
        #expect(head.lowercased().contains("x-handler: yes"))
        #expect(body == #"{"method":"POST","q":"1","name":"ada"}"#)
        #expect(try call(port, "POST", "/fail", body: "x").0 == 500)
        #expect(try call(port, "POST", "/text", body: "plain").2 == "plain")
    }
}
