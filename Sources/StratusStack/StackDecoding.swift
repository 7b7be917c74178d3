import StratusModel
import Yams

/// Turns the YAML node tree of a stack file into `StackFile`, following faas-cli's schema.
struct StackDecoder {
    var reader: NodeReader

    static let rootFields = ["version", "provider", "functions", "configuration"]
    static let providerFields = ["name", "gateway", "network"]
    static let configurationFields = ["templates", "copy"]
    static let templateFields = ["name", "source"]
    static let resourceFields = ["memory", "cpu"]
    static let functionFields = [
        "lang", "handler", "image", "fprocess", "environment", "environment_file", "secrets", "labels",
        "annotations", "limits", "requests", "namespace", "constraints", "build_args", "build_options",
        "build_secrets", "skip_build", "readonly_root_filesystem", "platforms", "layers",
    ]
    /// The schema versions faas-cli accepts.
    static let versions = ["1.0"]
    /// The provider names faas-cli accepts.
    static let providers = ["openfaas"]

    func stack(_ root: Node?) throws(StackError) -> StackFile {
        guard let root, !NodeReader.isNull(root) else {
            throw reader.error(nil, nil, "the file is empty; a stack file needs `version`, `provider` and `functions`")
        }
        let fields = try reader.fields(root, "", known: StackDecoder.rootFields)
        // faas-cli assumes the default schema version when the field is absent, so a file it accepts parses here too.
        let version = try reader.string(fields["version"], "version") ?? "1.0"
        guard StackDecoder.versions.contains(version) else {
            throw reader.error(fields["version"], "version", "unsupported version `\(version)`; the only valid version is `1.0`")
        }
        guard let providerNode = fields["provider"], !NodeReader.isNull(providerNode) else {
            throw missing(fields, "provider", hint: " (add `provider:` with `name: openfaas`)")
        }
        let provider = try self.provider(providerNode)
        var functions: [StackFunction] = []
        if let node = fields["functions"] {
            for entry in try reader.entries(node, "functions") { functions.append(try function(entry)) }
        }
        var configuration: StackConfiguration?
        if let node = fields["configuration"] { configuration = try self.configuration(node) }
        return StackFile(version: version, provider: provider, functions: functions, configuration: configuration)
    }

    private func missing(_ fields: Fields, _ name: String, hint: String = "") -> StackError {
        reader.error(fields.node, fields.path(name), "missing required field" + hint)
    }

    func provider(_ node: Node) throws(StackError) -> StackProvider {
        let fields = try reader.fields(node, "provider", known: StackDecoder.providerFields)
        guard let name = try reader.string(fields["name"], "provider.name") else {
            throw missing(fields, "name", hint: " (use `name: openfaas`)")
        }
        guard StackDecoder.providers.contains(name) else {
            throw reader.error(
                fields["name"], "provider.name", "unsupported provider `\(name)`; the only valid provider is `openfaas`")
        }
        return StackProvider(
            name: name, gateway: try reader.string(fields["gateway"], "provider.gateway"),
            network: try reader.string(fields["network"], "provider.network"))
    }

    func function(_ entry: MappingEntry) throws(StackError) -> StackFunction {
        let path = Fields.join("functions", entry.key)
        if let problem = functionNameProblem(entry.key) {
            throw reader.error(entry.keyNode, path, "invalid function name `\(entry.key)`: \(problem)")
        }
        let f = try reader.fields(entry.value, path, known: StackDecoder.functionFields)
        let r = reader
        var function = StackFunction(
            name: entry.key,
            lang: try r.string(f["lang"], f.path("lang")),
            handler: try r.string(f["handler"], f.path("handler")),
            image: try r.string(f["image"], f.path("image")),
            fprocess: try r.string(f["fprocess"], f.path("fprocess")),
            environment: try r.stringMap(f["environment"], f.path("environment")),
            environmentFiles: try r.stringList(f["environment_file"], f.path("environment_file")),
            secrets: try r.stringList(f["secrets"], f.path("secrets")),
            labels: try r.stringMap(f["labels"], f.path("labels")),
            annotations: try r.stringMap(f["annotations"], f.path("annotations")),
            limits: try resources(f["limits"], f.path("limits")),
            requests: try resources(f["requests"], f.path("requests")),
            namespace: try r.string(f["namespace"], f.path("namespace")),
            constraints: try r.stringList(f["constraints"], f.path("constraints")),
            buildArgs: try r.stringMap(f["build_args"], f.path("build_args")),
            buildOptions: try r.stringList(f["build_options"], f.path("build_options")),
            buildSecrets: try r.stringMap(f["build_secrets"], f.path("build_secrets")),
            skipBuild: try r.bool(f["skip_build"], f.path("skip_build")),
            readonlyRootFilesystem: try r.bool(f["readonly_root_filesystem"], f.path("readonly_root_filesystem")),
            platforms: try platforms(f["platforms"], f.path("platforms")),
            line: reader.position(entry.keyNode)?.line ?? 0)
        function.layers = try r.stringList(f["layers"], f.path("layers"))
        return function
    }

    private func resources(_ node: Node?, _ path: String) throws(StackError) -> StackResources? {
        guard let node else { return nil }
        let fields = try reader.fields(node, path, known: StackDecoder.resourceFields)
        return StackResources(
            memory: try reader.string(fields["memory"], fields.path("memory")),
            cpu: try reader.string(fields["cpu"], fields.path("cpu")))
    }

    /// `platforms: linux/amd64,linux/arm64` or a list of platforms.
    private func platforms(_ node: Node?, _ path: String) throws(StackError) -> [String] {
        guard let node else { return [] }
        if case .sequence = node { return try reader.stringList(node, path) }
        guard let text = try reader.string(node, path) else { return [] }
        return text.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) }.filter { !$0.isEmpty }
    }

    func configuration(_ node: Node) throws(StackError) -> StackConfiguration {
        let fields = try reader.fields(node, "configuration", known: StackDecoder.configurationFields)
        var templates: [StackTemplateSource] = []
        if let list = fields["templates"], !NodeReader.isNull(list) {
            guard case .sequence(let sequence) = list else {
                throw reader.typeError(list, "configuration.templates", expected: "a list of templates")
            }
            for (index, item) in sequence.enumerated() {
                let path = "configuration.templates[\(index)]"
                let template = try reader.fields(item, path, known: StackDecoder.templateFields)
                guard let name = try reader.string(template["name"], template.path("name")) else {
                    throw missing(template, "name")
                }
                templates.append(
                    StackTemplateSource(name: name, source: try reader.string(template["source"], template.path("source"))))
            }
        }
        return StackConfiguration(
            templates: templates, copy: try reader.stringList(fields["copy"], "configuration.copy"))
    }
}

/// Why `name` is not a valid function name (a DNS-1123 label starting with a letter), or `nil`.
func functionNameProblem(_ name: String) -> String? {
    FunctionName.problem(with: name)
}
