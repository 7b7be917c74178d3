/// A parsed OpenFaaS stack file (`stack.yml`), as faas-cli 0.16 reads it.
public struct StackFile: Sendable, Equatable {
    /// The schema version; OpenFaaS knows only `"1.0"`.
    public var version: String
    /// Where the functions are deployed.
    public var provider: StackProvider
    /// The functions, in the order the file lists them.
    public var functions: [StackFunction]
    /// The `configuration` section, or `nil` when the file has none.
    public var configuration: StackConfiguration?

    /// Creates a stack file from its parts.
    public init(
        version: String, provider: StackProvider, functions: [StackFunction] = [],
        configuration: StackConfiguration? = nil
    ) {
        self.version = version
        self.provider = provider
        self.functions = functions
        self.configuration = configuration
    }

    /// The function with the given name, or `nil` when the file has none by that name.
    public func function(named name: String) -> StackFunction? {
        functions.first { $0.name == name }
    }
}

/// The `provider` section: which platform and gateway the stack targets.
public struct StackProvider: Sendable, Equatable {
    /// Always `openfaas` (the only provider faas-cli accepts).
    public var name: String
    /// The gateway URL, when the file gives one.
    public var gateway: String?
    /// The container network (Docker Swarm era), when the file gives one.
    public var network: String?

    /// Creates a provider section.
    public init(name: String = "openfaas", gateway: String? = nil, network: String? = nil) {
        self.name = name
        self.gateway = gateway
        self.network = network
    }
}

/// Memory and CPU amounts, as written (`128Mi`, `100m`); the gateway parses them.
public struct StackResources: Sendable, Equatable {
    /// The memory quantity, e.g. `128Mi`.
    public var memory: String?
    /// The CPU quantity, e.g. `100m`.
    public var cpu: String?

    /// Creates a resources section.
    public init(memory: String? = nil, cpu: String? = nil) {
        self.memory = memory
        self.cpu = cpu
    }
}

/// The `configuration` section: template sources and extra paths to copy into builds.
public struct StackConfiguration: Sendable, Equatable {
    /// `configuration.templates`: where to fetch language templates from.
    public var templates: [StackTemplateSource]
    /// `configuration.copy`: extra paths copied into every function's build context.
    public var copy: [String]

    /// Creates a configuration section.
    public init(templates: [StackTemplateSource] = [], copy: [String] = []) {
        self.templates = templates
        self.copy = copy
    }
}

/// One entry of `configuration.templates`.
public struct StackTemplateSource: Sendable, Equatable {
    /// The template's name, e.g. `golang-middleware`.
    public var name: String
    /// Where to fetch it from (a Git URL, optionally `#ref`), when given.
    public var source: String?

    /// Creates a template source.
    public init(name: String, source: String? = nil) {
        self.name = name
        self.source = source
    }
}

/// One entry of `functions`: how to build and deploy a function.
public struct StackFunction: Sendable, Equatable {
    /// The function's name (its key in `functions`), a valid DNS-1123 label.
    public var name: String
    /// `lang`: the template used to build it.
    public var lang: String?
    /// `handler`: the folder holding its source code.
    public var handler: String?
    /// `image`: the image (or artifact) reference.
    public var image: String?
    /// `fprocess`: the process the watchdog runs.
    public var fprocess: String?
    /// `environment`: environment variables; numbers and booleans are kept as written.
    public var environment: [String: String]
    /// `environment_file`: files with more environment variables, later ones winning.
    public var environmentFiles: [String]
    /// `secrets`: names of secrets mounted into the function.
    public var secrets: [String]
    /// `labels`: labels stored with the function.
    public var labels: [String: String]
    /// `annotations`: annotations stored with the function (Stratus settings live here).
    public var annotations: [String: String]
    /// `limits`: the most memory and CPU the function may use.
    public var limits: StackResources?
    /// `requests`: the memory and CPU the function asks for.
    public var requests: StackResources?
    /// `namespace`: the namespace to deploy into.
    public var namespace: String?
    /// `constraints`: placement constraints passed to the orchestrator.
    public var constraints: [String]
    /// `build_args`: build arguments for the image build.
    public var buildArgs: [String: String]
    /// `build_options`: named build options the template defines.
    public var buildOptions: [String]
    /// `build_secrets`: build-time secrets, name to file path.
    public var buildSecrets: [String: String]
    /// `skip_build`: whether to skip building the function.
    public var skipBuild: Bool
    /// `readonly_root_filesystem`: whether the root filesystem is read-only.
    public var readonlyRootFilesystem: Bool
    /// `platforms`: target platforms (a comma-separated string or a list in the file).
    public var platforms: [String]
    /// `layers` (a Stratus extension): layers shown at `/opt`, `name` or `name:version`, in order.
    public var layers: [String] = []
    /// The line of the function's key in the file (1-based).
    public var line: Int

    /// Creates a function entry; everything but the name is optional.
    public init(
        name: String, lang: String? = nil, handler: String? = nil, image: String? = nil,
        fprocess: String? = nil, environment: [String: String] = [:], environmentFiles: [String] = [],
        secrets: [String] = [], labels: [String: String] = [:], annotations: [String: String] = [:],
        limits: StackResources? = nil, requests: StackResources? = nil, namespace: String? = nil,
        constraints: [String] = [], buildArgs: [String: String] = [:], buildOptions: [String] = [],
        buildSecrets: [String: String] = [:], skipBuild: Bool = false, readonlyRootFilesystem: Bool = false,
        platforms: [String] = [], line: Int = 0
    ) {
        self.name = name
        self.lang = lang
        self.handler = handler
        self.image = image
        self.fprocess = fprocess
        self.environment = environment
        self.environmentFiles = environmentFiles
        self.secrets = secrets
        self.labels = labels
        self.annotations = annotations
        self.limits = limits
        self.requests = requests
        self.namespace = namespace
        self.constraints = constraints
        self.buildArgs = buildArgs
        self.buildOptions = buildOptions
        self.buildSecrets = buildSecrets
        self.skipBuild = skipBuild
        self.readonlyRootFilesystem = readonlyRootFilesystem
        self.platforms = platforms
        self.line = line
    }
}
