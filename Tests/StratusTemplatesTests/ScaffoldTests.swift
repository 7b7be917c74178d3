import Foundation
import StratusTemplates
import Testing

@Suite("Templates and scaffolding")
struct ScaffoldTests {
    @Test("Known languages have templates; unknown ones give nil")
    func lookup() {
        #expect(Templates.template(for: "swift-wasm")?.language == .swiftWasm)
        #expect(Templates.template(for: "c-wasm")?.files.map(\.path) == ["handler.c", "stratus.h"])
        #expect(Templates.template(for: "python3")?.files.map(\.path) == ["handler.py", "requirements.txt"])
        #expect(Templates.template(for: "cobol") == nil)
        #expect(Templates.template(for: "") == nil)
        #expect(Templates.all.map(\.language) == [.swiftWasm, .cWasm, .python3, .python3Http, .node, .bash, .bootstrap, .scfBootstrap, .swiftLambda])
        #expect(Templates.all.allSatisfy { !$0.summary.isEmpty })
    }

    @Test("scaffold creates the handler folder and a new stack.yml")
    func createsFolderAndStack() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Templates.scaffold(name: "hello", language: .swiftWasm, in: directory)

        #expect(result.createdStackFile)
        #expect(result.functionDirectory.lastPathComponent == "hello")
        let handler = try read(directory.appendingPathComponent("hello/handler.swift"))
        #expect(handler.contains("func handle(_ request: Request) -> Response"))
        #expect(handler.contains(#"Response(body: "Hello! You said: \(request.text)")"#))
        #expect(try read(directory.appendingPathComponent("stack.yml")) == """
            version: 1.0
            provider:
              name: openfaas
              gateway: http://127.0.0.1:8080
            functions:
              hello:
                lang: swift-wasm
                handler: ./hello
                image: hello:latest

            """)
    }

    @Test("Appending keeps the rest of an existing stack file, comments and later sections included")
    func appendsToExistingStack() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = """
            # my functions
            version: 1.0
            provider:
              name: openfaas
              gateway: http://10.0.0.5:8080   # the lab box
            functions:
              first:
                lang: c-wasm
                handler: ./first
                environment:
                  MODE: fast

              # second: disabled for now
            configuration:
              templates: []

            """
        try write(original, to: directory.appendingPathComponent("stack.yml"))
        let result = try Templates.scaffold(name: "second", language: .cWasm, in: directory, gateway: "http://ignored:1")

        #expect(!result.createdStackFile)
        #expect(try read(directory.appendingPathComponent("stack.yml")) == """
            # my functions
            version: 1.0
            provider:
              name: openfaas
              gateway: http://10.0.0.5:8080   # the lab box
            functions:
              first:
                lang: c-wasm
                handler: ./first
                environment:
                  MODE: fast
              second:
                lang: c-wasm
                handler: ./second
                image: second:latest

              # second: disabled for now
            configuration:
              templates: []

            """)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("second/handler.c").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("second/stratus.h").path))
    }

    @Test("Appending follows the file's indentation and adds a missing functions section")
    func indentationAndMissingSection() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let stack = directory.appendingPathComponent("four.yml")
        try write("functions:\n    a:\n        lang: c-wasm\n", to: stack)
        _ = try Templates.scaffold(name: "b", language: .swiftWasm, in: directory, stackFile: "four.yml")
        #expect(try read(stack) == "functions:\n    a:\n        lang: c-wasm\n    b:\n        lang: swift-wasm\n        handler: ./b\n        image: b:latest\n")

        let bare = directory.appendingPathComponent("bare.yml")
        try write("version: 1.0\nprovider:\n  name: openfaas", to: bare)
        _ = try Templates.scaffold(name: "c", language: .cWasm, in: directory, stackFile: "bare.yml")
        #expect(try read(bare) == "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  c:\n    lang: c-wasm\n    handler: ./c\n    image: c:latest\n")
    }

    @Test("A name already in the stack file is refused and nothing is written")
    func duplicateFunctionRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try Templates.scaffold(name: "hello", language: .swiftWasm, in: directory)
        let stack = directory.appendingPathComponent("stack.yml")
        let before = try read(stack)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("hello"))

        let error = #expect(throws: TemplateError.self) {
            try Templates.scaffold(name: "hello", language: .cWasm, in: directory)
        }
        #expect(error?.kind == .functionExists(name: "hello", stackFile: stack.path))
        #expect(error?.description.contains("already has a function named 'hello'") == true)
        #expect(try read(stack) == before)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("hello").path))
    }

    @Test("An existing folder is refused and the stack file is left alone")
    func existingFolderRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("keep me\n", to: directory.appendingPathComponent("taken/notes.txt"))
        let error = #expect(throws: TemplateError.self) {
            try Templates.scaffold(name: "taken", language: .swiftWasm, in: directory)
        }
        #expect(error?.kind == .directoryExists(path: directory.appendingPathComponent("taken").standardizedFileURL.path))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("stack.yml").path))
        #expect(try read(directory.appendingPathComponent("taken/notes.txt")) == "keep me\n")
    }

    @Test("Invalid names and inline functions mappings are refused", arguments: ["", "Hello", "a/b", "../up", "x-", "9lives"])
    func invalidNames(name: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: TemplateError.self) { try Templates.scaffold(name: name, language: .cWasm, in: directory) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("An inline functions mapping cannot be extended textually")
    func inlineFunctionsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try write("functions: {}\n", to: directory.appendingPathComponent("stack.yml"))
        let error = #expect(throws: TemplateError.self) { try Templates.scaffold(name: "a", language: .cWasm, in: directory) }
        guard case .unsupportedStackFile = error?.kind else {
            Issue.record("expected unsupportedStackFile, got \(String(describing: error))")
            return
        }
    }
}
