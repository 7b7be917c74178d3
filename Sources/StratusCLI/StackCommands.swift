import ArgumentParser
import Foundation
import StratusModel
import StratusStack
import StratusTemplates
import StratusImages
import StratusWasm

/// Options of the commands that read a stack file.
struct StackOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("yaml")], help: "Stack file (OpenFaaS format).")
    var file: String = "stack.yml"

    @Option(name: .long, help: "Only the function with this name.")
    var filter: String?

    /// The parsed stack file and the folder it lives in.
    func load() throws -> (stack: StackFile, directory: URL, functions: [StackFunction]) {
        var path = file
        if file == "stack.yml", !FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: "stack.yaml") {
            path = "stack.yaml"
        }
        let stack: StackFile
        do { stack = try StackParser.load(path: path) } catch { throw CLIError(error.description) }
        let functions = stack.functions.filter { filter == nil || $0.name == filter }
        if let filter, functions.isEmpty { throw CLIError("\(path): no function named '\(filter)'") }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        return (stack, directory, functions)
    }
}

/// Where `stratus build` puts a function's artifact: `build/NAME/function.wasm` or `build/NAME/bundle.tar.gz`.
func artifactPath(for function: StackFunction, language: TemplateLanguage, in directory: URL) -> URL {
    directory.appendingPathComponent("build").appendingPathComponent(function.name).appendingPathComponent(language.artifactFileName)
}

/// `stratus new NAME --lang L`.
struct New: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a function from a built-in template and add it to stack.yml.")
    @Argument(help: "Function name (lowercase letters, digits and '-').") var name: String?
    @Option(name: .long, help: "Template language (see --list).") var lang: String?
    @Flag(name: .long, help: "List the built-in templates.") var list = false
    @Option(name: [.short, .long], help: "Gateway written into a new stack.yml.") var gateway: String = Paths.defaultGateway
    @Option(name: [.customShort("f"), .customLong("yaml")], help: "Stack file to create or extend.") var file: String = "stack.yml"

    func run() async throws {
        if list {
            for template in Templates.all { print("\(template.language.rawValue)\t\(template.summary)") }
            return
        }
        guard let name else { throw ValidationError("name the function: stratus new NAME --lang LANG") }
        if let problem = FunctionName.problem(with: name) { throw ValidationError("invalid function name '\(name)': \(problem)") }
        guard let lang else {
            throw ValidationError("choose a template with --lang (\(Templates.all.map(\.language.rawValue).joined(separator: ", ")))")
        }
        guard let language = TemplateLanguage(rawValue: lang) else {
            throw ValidationError("unknown language '\(lang)' (available: \(Templates.all.map(\.language.rawValue).joined(separator: ", ")))")
        }
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        do {
            _ = try Templates.scaffold(name: name, language: language, in: directory, stackFile: file, gateway: gateway)
        } catch {
            throw CLIError(error.description)
        }
        print("Function created in ./\(name)/ and added to \(file)")
        print("Next: stratus up -f \(file)   then   curl \(gateway)/function/\(name) -d Hi")
    }
}

/// `stratus build -f stack.yml`.
struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the stack's functions: Wasm languages to build/NAME/function.wasm, process languages to build/NAME/bundle.tar.gz.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
        let (_, directory, functions) = try stack.load()
        try buildAll(functions, in: directory)
    }
}

/// Builds every function that has a template language; returns how many were built.
@discardableResult
func buildAll(_ functions: [StackFunction], in directory: URL) throws -> Int {
    var built = 0
    for function in functions {
        if function.skipBuild == true { continue }
        guard let lang = function.lang else { throw CLIError("\(function.name): no `lang` set, so there is nothing to build") }
        guard let language = TemplateLanguage(rawValue: lang) else {
            if let image = function.image, ImageReference.namesRegistry(image) {
                print("Not building \(function.name) (\(lang) is not a built-in template; `stratus up --image-build` builds its Dockerfile): the server pulls \(image)")
                continue
            }
            throw CLIError("\(function.name): language '\(lang)' cannot be built (available: \(Templates.all.map(\.language.rawValue).joined(separator: ", ")))")
        }
        let handler = directory.appendingPathComponent(function.handler ?? "./\(function.name)")
        let output = artifactPath(for: function, language: language, in: directory)
        print("Building \(function.name) (\(lang)) from \(function.handler ?? handler.path)…")
        let result: BuildResult
        do {
            result = try WasmBuilder().build(language: language, handlerDirectory: handler, output: output)
        } catch {
            throw CLIError("\(function.name): build failed\n\(error.description)")
        }
        print("Built \(function.name): \(output.path) (\(result.size) bytes)")
        built += 1
    }
    return built
}

/// `stratus deploy`: from a stack file, or one function from flags.
struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload built modules and deploy functions.",
        discussion: "With -f, deploys the stack's functions from build/NAME/function.wasm. With --name, deploys one function: --wasm uploads a module under --image first.")
    @OptionGroup var stack: StackOptions
    @OptionGroup var options: GatewayOptions
    @Option(name: .long, help: "Deploy one function with this name (no stack file).") var name: String?
    @Option(name: .long, help: "Artifact reference (name:tag or sha256:…) to deploy; with --wasm, the name to upload under.") var image: String?
    @Option(name: [.customLong("artifact"), .customLong("wasm")], help: "A .wasm module or .tar.gz bundle to upload and deploy (with --name).") var wasm: String?
    @Option(name: .long, help: "Command to run per request (OpenFaaS fprocess), e.g. \"cat\": a process function.") var fprocess: String?
    @Option(name: [.short, .long], help: "Environment variable KEY=VALUE (repeatable).") var env: [String] = []
    @Option(name: [.short, .long], help: "Label KEY=VALUE (repeatable).") var label: [String] = []
    @Option(name: .long, help: "Annotation KEY=VALUE (repeatable), e.g. com.stratus.timeout=10s.") var annotation: [String] = []
    @Option(name: .long, help: "Memory limit, e.g. 64Mi.") var memory: String?
    @Option(name: [.short, .long], help: "Namespace to deploy into (default openfaas-fn; with -f, overrides the stack's). Create it first: stratus namespace create NAME.")
    var namespace: String?
    @Flag(name: .long, help: "Compile Wasm modules here with Wasmtime (as `stratus compile`) and send the code along, so the server compiles nothing (it must run with --trust-precompiled and the same Wasmtime).")
    var precompiled = false

    func run() async throws {
        if let name {
            let image = self.image ?? "\(name):latest"
            let client = options.client()
            if let wasm {
                guard let data = FileManager.default.contents(atPath: wasm) else { throw CLIError("cannot read \(wasm)") }
                if precompiled { try await sendPrecompiled(Array(data), client: client) }
                let upload = try await client.uploadArtifact(Array(data), name: image)
                print("Uploaded \(wasm) as \(image) (\(upload.digest))")
            }
            let deployment = FunctionDeployment(
                service: name, image: image, namespace: namespace, envProcess: fprocess, envVars: try pairs(env, "--env"), labels: try pairs(label, "--label"),
                annotations: try pairs(annotation, "--annotation"), limits: memory.map { FunctionResources(memory: $0) })
            try await deployOne(deployment, client: client)
            return
        }
        let (file, directory, functions) = try stack.load()
        try await deployStack(functions, stack: file, directory: directory, options: options, namespace: namespace, precompiled: precompiled)
    }
}

/// `stratus up`: build, then deploy.
struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Build, upload and deploy the stack's functions in one step.")
    @OptionGroup var stack: StackOptions
    @OptionGroup var options: GatewayOptions
    @Flag(name: .long, help: "Compile the Wasm modules here with Wasmtime and send the code along (see `stratus deploy --help`).")
    var precompiled = false
    @Flag(name: .customLong("image-build"),
          help: "Build functions whose handler (or template/LANG/) has a Dockerfile into container images with buildah, push them to the registry their `image` names, and deploy them by reference.")
    var imageBuild = false
    @Option(name: .customLong("insecure-registry"), help: "With --image-build: a registry (HOST:PORT) to push to over plain HTTP (repeatable).")
    var insecureRegistry: [String] = []

    func run() async throws {
        let (file, directory, functions) = try stack.load()
        var images: [String: String] = [:]
        if imageBuild {
            for function in functions where function.skipBuild != true {
                guard let context = try ImageBuild.context(for: function, in: directory) else { continue }
                images[function.name] = try ImageBuild.buildAndPush(function, context: context, insecure: Set(insecureRegistry))
            }
        }
        try buildAll(functions.filter { images[$0.name] == nil }, in: directory)
        try await deployStack(functions, stack: file, directory: directory, options: options, precompiled: precompiled, images: images)
    }
}

/// Compiles a Wasm module here and sends the code to the gateway ahead of the module itself.
func sendPrecompiled(_ module: [UInt8], client: GatewayClient) async throws {
    guard module.starts(with: [0x00, 0x61, 0x73, 0x6d]) else { return }  // bundles have nothing to compile
    let compiled: PrecompiledModule
    do { compiled = try WasmRuntime.precompile(module) } catch { throw CLIError("--precompiled: \(error)") }
    try await client.uploadPrecompiled(compiled.encoded)
}

func deployStack(_ functions: [StackFunction], stack: StackFile, directory: URL, options: GatewayOptions, namespace: String? = nil,
                 precompiled: Bool = false, images: [String: String] = [:]) async throws {
    let client = options.client(stackGateway: stack.provider.gateway)
    for function in functions {
        let image = images[function.name] ?? function.image ?? "\(function.name):latest"
        // A function built into a container image is deployed by its reference: the server pulls it.
        let language = images[function.name] == nil ? function.lang.flatMap(TemplateLanguage.init(rawValue:)) : nil
        if images[function.name] != nil {
            // Nothing to upload.
        } else if let language, function.skipBuild != true {
            let artifact = artifactPath(for: function, language: language, in: directory)
            guard let data = FileManager.default.contents(atPath: artifact.path) else {
                throw CLIError("\(function.name): \(artifact.path) not found: run `stratus build` first (or `stratus up`)")
            }
            if precompiled { try await sendPrecompiled(Array(data), client: client) }
            _ = try await client.uploadArtifact(Array(data), name: image)
        } else if function.fprocess == nil, !ImageReference.namesRegistry(image) {
            throw CLIError("\(function.name): nothing to deploy: language '\(function.lang ?? "-")' has no template and no fprocess is set")
        }
        var environment: [String: String] = [:]
        for file in function.environmentFiles {
            let path = directory.appendingPathComponent(file).path
            do { environment.merge(try StackParser.loadEnvironmentFile(path: path)) { _, new in new } } catch { throw CLIError(error.description) }
        }
        environment.merge(function.environment) { _, new in new }
        // The template's watchdog mode (http for long-running servers), unless the stack sets one.
        if let mode = language?.processMode, environment["mode"] == nil, function.fprocess == nil { environment["mode"] = mode }
        let command = function.fprocess ?? language?.fprocess
        var annotations = try await uploadModels(function.annotations, function: function.name, directory: directory, client: client)
        // `layers:` becomes the annotation the gateway reads (the annotation, when also set, wins).
        if !function.layers.isEmpty, annotations?["com.stratus.layers"] == nil {
            annotations = (annotations ?? [:]).merging(["com.stratus.layers": function.layers.joined(separator: ",")]) { old, _ in old }
        }
        // The template's event format (an API gateway event for the cloud-runtime templates), unless the stack sets one.
        if let format = language?.defaultEventFormat, annotations?["com.stratus.event-format"] == nil {
            annotations = (annotations ?? [:]).merging(["com.stratus.event-format": format]) { old, _ in old }
        }
        annotations = try await deployFunctionSite(annotations, function: function.name, directory: directory, client: client)
        let deployment = FunctionDeployment(
            service: function.name, image: image, namespace: namespace ?? function.namespace, envProcess: command,
            envVars: environment, constraints: function.constraints, secrets: function.secrets, labels: function.labels,
            annotations: annotations,
            limits: function.limits.map { FunctionResources(memory: $0.memory, cpu: $0.cpu) },
            requests: function.requests.map { FunctionResources(memory: $0.memory, cpu: $0.cpu) },
            readOnlyRootFilesystem: function.readonlyRootFilesystem)
        try await deployOne(deployment, client: client)
    }
}

/// Models declared as `com.stratus.model.NAME: ./path/model.onnx` are uploaded (content-addressed)
/// and the annotation rewritten to the digest; a digest or `name:tag` is left as it is.
func uploadModels(_ annotations: [String: String]?, function: String, directory: URL, client: GatewayClient) async throws -> [String: String]? {
    guard var annotations else { return nil }
    for (key, value) in annotations where key.hasPrefix("com.stratus.model.") && !value.hasPrefix("sha256:") {
        let path = value.hasPrefix("/") ? URL(fileURLWithPath: value) : directory.appendingPathComponent(value)
        guard value.hasPrefix(".") || value.hasPrefix("/") || FileManager.default.fileExists(atPath: path.path) else { continue }
        guard let data = FileManager.default.contents(atPath: path.path) else {
            throw CLIError("\(function): model file \(path.path) (annotation \(key)) not found")
        }
        let name = String(key.dropFirst("com.stratus.model.".count))
        let upload = try await client.uploadArtifact(Array(data), name: "\(function)-model-\(name):latest", model: true)
        print("Uploaded model \(name) (\(value)) as \(upload.digest)")
        annotations[key] = upload.digest
    }
    return annotations
}

func deployOne(_ deployment: FunctionDeployment, client: GatewayClient) async throws {
    let created = try await client.deploy(deployment)
    let address = deployment.namespace.flatMap { $0.isEmpty || $0 == FunctionName.defaultNamespace ? nil : "\(deployment.service).\($0)" } ?? deployment.service
    print("Deployed \(address) (\(created ? "created" : "updated")): \(client.baseURL)/function/\(address)")
}

func pairs(_ entries: [String], _ flag: String) throws -> [String: String]? {
    guard !entries.isEmpty else { return nil }
    var result: [String: String] = [:]
    for entry in entries {
        guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else { throw ValidationError("\(flag) '\(entry)' must be KEY=VALUE") }
        result[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
    }
    return result
}

