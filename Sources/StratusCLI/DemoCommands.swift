import ArgumentParser
import Foundation
import StratusModel
import StratusStack
import StratusTemplates

/// `stratus demo deploy`: the demo functions and the classifier's page, on any running gateway.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy the demo functions: hello (Swift), pycon (Python) and classify (image recognition) with its page.",
        subcommands: [DemoDeploy.self])
}

struct DemoDeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Build and deploy examples/stack.yml: hello, pycon, classify and the page at /sites/classify/.",
        discussion: """
            The demo lives in the examples/ folder of the Stratus source tree; it is found next to the \
            current folder or the stratus binary, or given with --dir. classify needs the model and ONNX \
            Runtime that `make setup-models` prepares under .cache/; without them it is skipped with a message.
            """)
    @OptionGroup var options: GatewayOptions
    @Option(name: .long, help: "The demo folder (the one holding stack.yml); default: ./examples or the source tree's.")
    var dir: String?

    func run() async throws {
        let folder = try Self.demoFolder(dir)
        let stackFile = folder.appendingPathComponent("stack.yml")
        let stack: StackFile
        do { stack = try StackParser.load(path: stackFile.path) } catch { throw CLIError(error.description) }
        var functions = stack.functions
        var skipped: [String] = []
        for function in functions {
            for (key, value) in function.annotations where key.hasPrefix("com.stratus.model.") && !value.hasPrefix("sha256:") {
                let model = folder.appendingPathComponent(value).standardizedFileURL
                if !FileManager.default.fileExists(atPath: model.path) {
                    FileHandle.standardError.write(Data("\(function.name) skipped: its model \(model.path) is missing (run `make setup-models`)\n".utf8))
                    skipped.append(function.name)
                }
            }
        }
        functions.removeAll { skipped.contains($0.name) }
        _ = try buildAll(functions, in: folder)
        try await deployStack(functions, stack: stack, directory: folder, options: options)
        let base = options.client(stackGateway: stack.provider.gateway).baseURL
        print("\nTry it:")
        if functions.contains(where: { $0.name == "hello" }) { print("  curl \(base)/function/hello -d Hi") }
        for function in functions where function.annotations[SiteStatus.annotation] != nil {
            print("  open \(base)/sites/\(function.name)/ in a browser")
        }
        if !skipped.isEmpty { throw CLIError("not deployed: \(skipped.joined(separator: ", "))") }
    }

    /// The demo folder: `--dir`, else ./examples, else examples/ in a folder above the binary.
    static func demoFolder(_ flag: String?) throws -> URL {
        let files = FileManager.default
        if let flag {
            let url = URL(fileURLWithPath: flag)
            guard files.fileExists(atPath: url.appendingPathComponent("stack.yml").path) else {
                throw CLIError("--dir \(flag): no stack.yml there")
            }
            return url
        }
        if let folder = Examples.folder() { return folder }
        throw CLIError("cannot find the demo (examples/stack.yml): run this from the Stratus source folder, or pass --dir")
    }
}
