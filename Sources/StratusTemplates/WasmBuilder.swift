public import Foundation

/// What a successful build produced.
public struct BuildResult: Sendable {
    /// The language that was built.
    public let language: TemplateLanguage
    /// The `.wasm` file written.
    public let output: URL
    /// The module's size in bytes.
    public let size: Int
    /// The user's source files that were compiled.
    public let sources: [URL]
    /// Compiler warnings, if any ("" when none).
    public let warnings: String
}

/// Compiles a function's handler folder to a WASI command module (`_start`).
public struct WasmBuilder: Sendable {
    /// The tools the builder runs.
    public let toolchain: WasmToolchain

    /// A builder using `toolchain` (by default, the tools found on this machine).
    public init(toolchain: WasmToolchain = .detect()) {
        self.toolchain = toolchain
    }

    /// The Swift module name handlers are compiled into.
    static let moduleName = "StratusFunction"

    /// Compiles the handler folder for `language` into `output`; returns the wasm bytes' size etc.
    public func build(language: TemplateLanguage, handlerDirectory: URL, output: URL) throws(BuildError) -> BuildResult {
        let missing = toolchain.missingPieces(for: language)
        if !missing.isEmpty {
            throw BuildError(.missingTool(
                name: missing.map(\.name).joined(separator: ", "), hint: missing.map(\.hint).joined(separator: "; ")))
        }
        let handler = handlerDirectory.standardizedFileURL
        if language == .bootstrap || language == .scfBootstrap {
            // Any executable named bootstrap will do: there may be no sources to find.
            return try buildBundle(language: language, handler: handler, sources: [], output: output)
        }
        let sources = try Self.sources(in: handler, fileExtension: language.sourceExtension)

        let files = FileManager.default
        let scratch = files.temporaryDirectory.appendingPathComponent("stratus-build-\(UUID().uuidString)")
        do { try files.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            throw BuildError(.ioFailed("cannot create \(scratch.path): \(error.localizedDescription)"))
        }
        defer { try? files.removeItem(at: scratch) }

        let module = scratch.appendingPathComponent("function.wasm")
        let warnings: String
        switch language {
        case .swiftWasm: warnings = try buildSwift(handler: handler, sources: sources, scratch: scratch, module: module)
        case .cWasm: warnings = try buildC(handler: handler, sources: sources, scratch: scratch, module: module)
        case .python3, .python3Http, .node, .bash, .bootstrap, .scfBootstrap, .swiftLambda:
            return try buildBundle(language: language, handler: handler, sources: sources, output: output)
        }
        guard let bytes = try? Data(contentsOf: module), bytes.starts(with: [0x00, 0x61, 0x73, 0x6D]) else {
            throw BuildError(.ioFailed("the linker did not produce a WebAssembly module"))
        }
        do {
            try files.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
            try bytes.write(to: output, options: .atomic)
        } catch {
            throw BuildError(.ioFailed("cannot write \(output.path): \(error.localizedDescription)"))
        }
        return BuildResult(language: language, output: output, size: bytes.count, sources: sources, warnings: warnings)
    }

    /// `build` on a background thread, leaving Swift concurrency's threads free while tools run.
    public func buildInBackground(language: TemplateLanguage, handlerDirectory: URL, output: URL) async throws(BuildError) -> BuildResult {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<BuildResult, BuildError>, Never>) in
            Thread.detachNewThread {
                continuation.resume(returning: Result { () throws(BuildError) -> BuildResult in
                    try self.build(language: language, handlerDirectory: handlerDirectory, output: output)
                })
            }
        }
        return try result.get()
    }

    /// Embedded Swift: compile the SDK and the handler's files as one module, then link with wasi-libc.
    private func buildSwift(handler: URL, sources: [URL], scratch: URL, module: URL) throws(BuildError) -> String {
        guard let swiftc = toolchain.swiftc, let wasmLD = toolchain.wasmLD, let sysroot = toolchain.wasiSysroot,
              let libraries = toolchain.wasiLibraryDirectory, let builtins = toolchain.builtinsArchive
        else { throw BuildError(.missingTool(name: "Swift wasm toolchain", hint: "see WasmToolchain.missingPieces")) }
        // The SDK goes into the build folder, never into the user's; keep its name unique in the module.
        let sdkDirectory = scratch.appendingPathComponent("sdk")
        let userNames = Set(sources.map(\.lastPathComponent))
        var sdkFiles: [URL] = []
        do {
            try FileManager.default.createDirectory(at: sdkDirectory, withIntermediateDirectories: true)
            for file in Templates.template(for: .swiftWasm).buildSupportFiles {
                let name = userNames.contains(file.path) ? "_\(file.path)" : file.path
                let url = sdkDirectory.appendingPathComponent(name)
                try Data(file.contents.utf8).write(to: url)
                sdkFiles.append(url)
            }
        } catch {
            throw BuildError(.ioFailed("cannot write the SDK into \(sdkDirectory.path): \(error.localizedDescription)"))
        }
        let object = scratch.appendingPathComponent("function.o")
        let compile = try ToolRunner.run(swiftc, [
            "-target", "wasm32-unknown-none-wasm",
            "-enable-experimental-feature", "Embedded", "-enable-experimental-feature", "Extern",
            "-wmo", "-Osize", "-Xfrontend", "-disable-stack-protector", "-parse-as-library",
            "-module-name", Self.moduleName,
            "-module-cache-path", scratch.appendingPathComponent("module-cache").path,
            "-c",
        ] + sdkFiles.map(\.path) + sources.map(\.path) + ["-o", object.path], in: handler, scratch: scratch)
        let compileMessages = Self.mapPaths(compile.stderr + compile.stdout, sdk: sdkDirectory, scratch: scratch)
        guard compile.status == 0 else { throw BuildError(.compileFailed(stderr: Self.withHints(compileMessages))) }

        var linkArguments = ["\(libraries)/crt1-command.o", object.path, "-L\(libraries)", "-lc", "-lm"]
        if let unicode = toolchain.unicodeDataTablesArchive { linkArguments.append(unicode) }
        linkArguments += [builtins, "--strip-debug", "-o", module.path]
        let link = try ToolRunner.run(wasmLD, linkArguments, in: scratch, scratch: scratch)
        guard link.status == 0 else {
            throw BuildError(.linkFailed(stderr: Self.mapPaths(link.stderr + link.stdout, sdk: sdkDirectory, scratch: scratch)
                + "\n(wasm-ld \(wasmLD), wasi-libc in \(sysroot))"))
        }
        return compileMessages
    }

    /// C: clang compiles and links against wasi-libc in one step.
    private func buildC(handler: URL, sources: [URL], scratch: URL, module: URL) throws(BuildError) -> String {
        guard let clang = toolchain.clang, let sysroot = toolchain.wasiSysroot, let resources = toolchain.clangResourceDirectory
        else { throw BuildError(.missingTool(name: "C wasm toolchain", hint: "see WasmToolchain.missingPieces")) }
        let run = try ToolRunner.run(clang, [
            "--target=wasm32-wasi", "--sysroot=\(sysroot)", "-resource-dir", resources,
            "-O2", "-fno-color-diagnostics", "-I", handler.path,
        ] + sources.map(\.path) + ["-lm", "-Wl,--strip-debug", "-o", module.path], in: handler, scratch: scratch)
        let messages = Self.mapPaths(run.stderr + run.stdout, sdk: scratch, scratch: scratch)
        guard run.status == 0 else { throw BuildError(.compileFailed(stderr: messages)) }
        return messages
    }

    /// The handler's source files with `fileExtension`, in subfolders too (hidden ones skipped), sorted.
    static func sources(in handler: URL, fileExtension: String) throws(BuildError) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: handler.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BuildError(.handlerNotFound(path: handler.path))
        }
        // Relative paths keep the user's spelling of the folder, so messages name the files they know.
        let relativePaths = (try? FileManager.default.subpathsOfDirectory(atPath: handler.path)) ?? []
        var found: [URL] = []
        for relative in relativePaths where !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
            let url = handler.appendingPathComponent(relative)
            var isFolder: ObjCBool = false
            guard url.pathExtension == fileExtension, FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder),
                  !isFolder.boolValue else { continue }
            found.append(url)
        }
        guard !found.isEmpty else { throw BuildError(.noSources(directory: handler.path, fileExtension: fileExtension)) }
        return found.sorted { $0.path < $1.path }
    }

    /// Messages with build-folder paths replaced: the SDK reads as `<stratus-sdk>/Stratus.swift`.
    static func mapPaths(_ text: String, sdk: URL, scratch: URL) -> String {
        text.replacingOccurrences(of: sdk.path + "/", with: "<stratus-sdk>/")
            .replacingOccurrences(of: scratch.path + "/", with: "<build>/")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Adds a hint for mistakes the compiler reports inside the SDK.
    static func withHints(_ messages: String) -> String {
        guard messages.contains("cannot find 'handle' in scope") else { return messages }
        return messages + "\nhint: define `func handle(_ request: Request) -> Response` in a .swift file of the handler folder"
    }
}
