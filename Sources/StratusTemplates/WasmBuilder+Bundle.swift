import Foundation

extension WasmBuilder {
    /// Compiles a Swift Lambda's sources with the template's `AWSLambdaRuntime` module into a
    /// static native executable; returns the compiler's warnings.
    func compileLambda(sources: [URL], into executable: URL, scratch: URL) throws(BuildError) -> String {
        guard let swiftc = toolchain.swiftc else { throw BuildError(.missingTool(name: "swiftc", hint: "install a Swift 6 toolchain")) }
        let runtimeFolder = scratch.appendingPathComponent("lambda-runtime")
        let runtimeSource = runtimeFolder.appendingPathComponent("AWSLambdaRuntime.swift")
        do {
            try FileManager.default.createDirectory(at: runtimeFolder, withIntermediateDirectories: true)
            try Data(BootstrapTemplateSources.lambdaRuntime.utf8).write(to: runtimeSource)
        } catch {
            throw BuildError(.ioFailed("cannot write the Lambda runtime module: \(error.localizedDescription)"))
        }
        let module = try ToolRunner.run(swiftc, [
            "-O", "-wmo", "-swift-version", "5", "-parse-as-library", "-module-name", "AWSLambdaRuntime", "-emit-module", "-c",
            "-emit-module-path", runtimeFolder.appendingPathComponent("AWSLambdaRuntime.swiftmodule").path,
            "-o", runtimeFolder.appendingPathComponent("AWSLambdaRuntime.o").path, runtimeSource.path,
        ], in: runtimeFolder, scratch: scratch)
        guard module.status == 0 else { throw BuildError(.compileFailed(stderr: "the AWSLambdaRuntime module did not build:\n" + module.stderr)) }
        // One source is the entry point: main.swift if there is one, else the only file.
        let main = sources.first { $0.lastPathComponent == "main.swift" } ?? (sources.count == 1 ? sources[0] : nil)
        guard main != nil else { throw BuildError(.compileFailed(stderr: "a Swift Lambda needs a main.swift (the file that calls runtime.run())")) }
        let compile = try ToolRunner.run(swiftc, [
            "-O", "-swift-version", "5", "-static-stdlib", "-module-name", "Function", "-I", runtimeFolder.path,
            // The runtime module uses Foundation; linking statically, the executable must pull it in itself.
            "-Xfrontend", "-import-module", "-Xfrontend", "Foundation", "-Xlinker", "--strip-all", "-Xlinker", "--gc-sections", "-o", executable.path,
        ] + sources.map(\.path) + [runtimeFolder.appendingPathComponent("AWSLambdaRuntime.o").path], in: scratch, scratch: scratch)
        guard compile.status == 0 else { throw BuildError(.compileFailed(stderr: compile.stderr)) }
        return compile.stderr
    }

    /// Packs the handler (and the template's entry point) into a tar.gz bundle for the process runtime.
    /// Python: the handler folder becomes the `function` package; `requirements.txt` is installed
    /// into `python-packages/` inside the bundle with pip.
    func buildBundle(language: TemplateLanguage, handler: URL, sources: [URL], output: URL) throws(BuildError) -> BuildResult {
        let files = FileManager.default
        let scratch = files.temporaryDirectory.appendingPathComponent("stratus-bundle-\(UUID().uuidString)")
        let root = scratch.appendingPathComponent("bundle")
        defer { try? files.removeItem(at: scratch) }
        let functionFolder = language.handlerInFunctionFolder ? root.appendingPathComponent("function") : root
        do {
            try files.createDirectory(at: root, withIntermediateDirectories: true)
            if functionFolder != root { try files.createDirectory(at: functionFolder, withIntermediateDirectories: true) }
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: handler.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw BuildError(.handlerNotFound(path: handler.path))
            }
            for entry in try files.contentsOfDirectory(atPath: handler.path) where !entry.hasPrefix(".") && entry != "build" {
                // A Swift Lambda's sources are compiled, not shipped.
                if language == .swiftLambda && entry.hasSuffix(".swift") { continue }
                try files.copyItem(at: handler.appendingPathComponent(entry), to: functionFolder.appendingPathComponent(entry))
            }
            let isPython = language == .python3 || language == .python3Http
            if isPython, !files.fileExists(atPath: functionFolder.appendingPathComponent("__init__.py").path) {
                try Data().write(to: functionFolder.appendingPathComponent("__init__.py"))
            }
            for file in Templates.template(for: language).buildSupportFiles {
                try Data(file.contents.utf8).write(to: root.appendingPathComponent(file.path))
            }
        } catch let error as BuildError {
            throw error
        } catch {
            throw BuildError(.ioFailed("cannot assemble the bundle: \(error.localizedDescription)"))
        }
        var warnings = ""
        if language == .swiftLambda {
            warnings = try compileLambda(sources: sources, into: root.appendingPathComponent("bootstrap"), scratch: scratch)
        }
        if language.isBootstrap {
            let bootstrap = root.appendingPathComponent("bootstrap")
            guard files.fileExists(atPath: bootstrap.path) else {
                throw BuildError(.ioFailed("\(handler.path) has no file named bootstrap: a custom runtime starts its executable bootstrap"))
            }
            // What runs must be executable, whatever mode the file had in the folder.
            chmod(bootstrap.path, 0o755)
        }
        let requirements = handler.appendingPathComponent("requirements.txt")
        if language == .python3 || language == .python3Http, let text = try? String(contentsOf: requirements, encoding: .utf8),
            text.split(separator: "\n").contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") })
        {
            let pip = try ToolRunner.run("/usr/bin/env", [
                "python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements.path,
                "--target", root.appendingPathComponent("python-packages").path,
            ], in: handler, scratch: scratch)
            guard pip.status == 0 else { throw BuildError(.compileFailed(stderr: "pip install -r requirements.txt failed:\n" + pip.stderr)) }
            warnings = pip.stderr
        }
        if language == .node, let text = try? String(contentsOf: handler.appendingPathComponent("package.json"), encoding: .utf8),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let dependencies = object["dependencies"] as? [String: Any], !dependencies.isEmpty
        {
            // The handler's own dependencies go into function/node_modules, where require() finds them.
            let npm = try ToolRunner.run("/usr/bin/env", ["npm", "install", "--omit=dev", "--no-audit", "--no-fund", "--silent"],
                                         in: functionFolder, scratch: scratch)
            guard npm.status == 0 else { throw BuildError(.compileFailed(stderr: "npm install failed (package.json dependencies):\n" + npm.stderr)) }
            warnings = npm.stderr
        }
        do { try files.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw BuildError(.ioFailed("cannot create \(output.deletingLastPathComponent().path): \(error.localizedDescription)"))
        }
        let tar = try ToolRunner.run("/bin/tar", ["-czf", output.path, "-C", root.path, "."], in: scratch, scratch: scratch)
        guard tar.status == 0 else { throw BuildError(.ioFailed("tar failed: \(tar.stderr)")) }
        let size = (try? files.attributesOfItem(atPath: output.path))?[.size] as? Int ?? 0
        return BuildResult(language: language, output: output, size: size, sources: sources, warnings: warnings)
    }
}
