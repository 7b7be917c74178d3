import Foundation
import StratusStack

/// `stratus up --image-build`: a function whose handler folder has a Dockerfile (or whose
/// `template/LANG/` has one, as faas-cli's templates do) is built into a container image with
/// buildah, pushed to the registry its `image` names, and deployed by that reference.
enum ImageBuild {
    /// The folder to build `function` from, or `nil` when it has no Dockerfile (it builds as usual).
    static func context(for function: StackFunction, in directory: URL) throws -> URL? {
        let handler = directory.appendingPathComponent(function.handler ?? "./\(function.name)").standardizedFileURL
        if FileManager.default.fileExists(atPath: handler.appendingPathComponent("Dockerfile").path) { return handler }
        guard let lang = function.lang else { return nil }
        let template = directory.appendingPathComponent("template").appendingPathComponent(lang)
        guard FileManager.default.fileExists(atPath: template.appendingPathComponent("Dockerfile").path) else { return nil }
        // faas-cli's layout: the template, with the handler copied into its `function` folder.
        let build = directory.appendingPathComponent("build").appendingPathComponent(function.name)
        try? FileManager.default.removeItem(at: build)
        try FileManager.default.createDirectory(at: build.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: template, to: build)
        let target = build.appendingPathComponent("function")
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: handler, to: target)
        return build
    }

    /// Builds `context` as `image` and pushes it; plain HTTP to registries in `insecure`.
    static func buildAndPush(_ function: StackFunction, context: URL, insecure: Set<String>) throws -> String {
        guard let image = function.image, image.contains("/"), let registry = image.split(separator: "/").first else {
            throw CLIError("\(function.name): --image-build needs `image: REGISTRY/REPO:TAG` in the stack file, to push to")
        }
        let buildah = "/usr/bin/buildah"
        guard FileManager.default.isExecutableFile(atPath: buildah) else { throw CLIError("--image-build needs buildah (apt-get install buildah)") }
        print("Building image \(image) for \(function.name) with buildah from \(context.path)…")
        try run(buildah, ["bud", "--quiet", "--tag", image, context.path])
        let tls = insecure.contains(String(registry)) ? ["--tls-verify=false"] : []
        print("Pushing \(image)…")
        try run(buildah, ["push", "--quiet"] + tls + [image, "docker://\(image)"])
        return image
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError("\(URL(fileURLWithPath: tool).lastPathComponent) \(arguments.first ?? "") failed: \(String(decoding: message, as: UTF8.self).suffix(2000))")
        }
    }
}
