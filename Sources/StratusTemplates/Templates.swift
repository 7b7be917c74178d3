/// A language a function can be written in: built to a WASI module, or bundled for the process runtime.
public enum TemplateLanguage: String, CaseIterable, Sendable {
    /// Embedded Swift with the Stratus guest SDK.
    case swiftWasm = "swift-wasm"
    /// C with wasi-libc's stdio.
    case cWasm = "c-wasm"
    /// Python 3, OpenFaaS classic `def handle(req)`, a process per request.
    case python3
    /// Python 3 in http mode (OpenFaaS python3-http): `def handle(event, context)`, standard library only.
    case python3Http = "python3-http"
    /// Node.js in http mode (OpenFaaS node): `module.exports = async (event, context) => …`, no npm needed.
    case node
    /// A bash script, a process per request (body on stdin).
    case bash
    /// A custom runtime: the folder's executable `bootstrap` talks to the AWS Lambda Runtime API
    /// (or SCF's); the template is a bash one.
    case bootstrap
    /// A Tencent SCF custom runtime in bash: `bootstrap` plus `index.sh`'s `main_handler`, behind
    /// an SCF API-gateway event.
    case scfBootstrap = "scf-bootstrap"
    /// A Swift Lambda function (swift-aws-lambda-runtime's API), compiled natively to `bootstrap`,
    /// behind an API Gateway v2 / function URL event.
    case swiftLambda = "swift-lambda"

    /// The file extension of this language's source files, without the dot.
    public var sourceExtension: String {
        switch self {
        case .swiftWasm: "swift"
        case .cWasm: "c"
        case .python3, .python3Http: "py"
        case .node: "js"
        case .bash, .bootstrap, .scfBootstrap: "sh"
        case .swiftLambda: "swift"
        }
    }

    /// The of-watchdog `mode` a deploy sets for this language (`http` for long-running servers), `nil` for classic.
    public var processMode: String? {
        switch self {
        case .python3Http, .node: "http"
        case .bootstrap, .scfBootstrap, .swiftLambda: "bootstrap"
        default: nil
        }
    }

    /// The event format (`com.stratus.event-format`) a deploy sets for this language, unless the stack sets one.
    public var defaultEventFormat: String? {
        switch self {
        case .scfBootstrap: "apigateway-scf"
        case .swiftLambda: "apigateway-aws"
        default: nil
        }
    }

    /// Whether it runs as a custom runtime (an executable `bootstrap` in the bundle).
    public var isBootstrap: Bool { self == .bootstrap || self == .scfBootstrap || self == .swiftLambda }

    /// Whether the handler folder becomes the bundle's `function/` package (next to the template's entry point).
    var handlerInFunctionFolder: Bool { self == .python3 || self == .python3Http || self == .node }

    /// Whether it builds to a Wasm module (else to a tar.gz bundle run as a process).
    public var buildsWasm: Bool { self == .swiftWasm || self == .cWasm }

    /// The command the process runtime starts in the unpacked bundle (OpenFaaS `fprocess`).
    public var fprocess: String? {
        switch self {
        case .swiftWasm, .cWasm: nil
        case .python3, .python3Http: "python3 index.py"
        case .node: "node index.js"
        case .bash: "bash handler.sh"
        case .bootstrap, .scfBootstrap, .swiftLambda: "./bootstrap"
        }
    }

    /// The file name `stratus build` writes under `build/NAME/`.
    public var artifactFileName: String { buildsWasm ? "function.wasm" : "bundle.tar.gz" }
}

/// One file of a template: a path relative to the handler folder and its text.
public struct TemplateFile: Sendable, Equatable {
    /// The path relative to the handler folder, e.g. `handler.swift`.
    public let path: String
    /// The file's text.
    public let contents: String

    /// A file at `path` holding `contents`.
    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

/// A built-in function template: what `stratus new` scaffolds and what `stratus build` adds.
public struct FunctionTemplate: Sendable {
    /// The language the template is written in.
    public let language: TemplateLanguage
    /// The files scaffolded into the new handler folder.
    public let files: [TemplateFile]
    /// A one-line description for `stratus new --list`.
    public let summary: String
    /// Files the builder adds next to the handler's sources (never written into the user's folder).
    public let buildSupportFiles: [TemplateFile]
}

/// The built-in templates, compiled into the binary.
public enum Templates {
    /// The template for the language named `lang` (e.g. `swift-wasm`), or nil for an unknown one.
    public static func template(for lang: String) -> FunctionTemplate? {
        TemplateLanguage(rawValue: lang).map(template(for:))
    }

    /// The template for `language`.
    public static func template(for language: TemplateLanguage) -> FunctionTemplate {
        switch language {
        case .swiftWasm:
            FunctionTemplate(
                language: .swiftWasm,
                files: [TemplateFile(path: "handler.swift", contents: TemplateSources.swiftHandler)],
                summary: "Embedded Swift compiled to WASI (func handle(_ request: Request) -> Response)",
                buildSupportFiles: [
                    TemplateFile(path: GuestSDK.swiftFileName, contents: GuestSDK.swiftSource),
                    TemplateFile(path: GuestSDK.inferenceFileName, contents: GuestSDK.inferenceSource),
                ])
        case .cWasm:
            FunctionTemplate(
                language: .cWasm,
                files: [
                    TemplateFile(path: "handler.c", contents: TemplateSources.cHandler),
                    TemplateFile(path: "stratus.h", contents: TemplateSources.cHeader),
                ],
                summary: "C compiled to WASI with wasi-libc (stdin in, stdout out)",
                buildSupportFiles: [])
        case .python3:
            FunctionTemplate(
                language: .python3,
                files: [
                    TemplateFile(path: "handler.py", contents: ProcessTemplateSources.pythonHandler),
                    TemplateFile(path: "requirements.txt", contents: ""),
                ],
                summary: "Python 3, OpenFaaS classic def handle(req): a process per request",
                buildSupportFiles: [TemplateFile(path: "index.py", contents: ProcessTemplateSources.pythonIndex)])
        case .python3Http:
            FunctionTemplate(
                language: .python3Http,
                files: [
                    TemplateFile(path: "handler.py", contents: ProcessTemplateSources.pythonHTTPHandler),
                    TemplateFile(path: "requirements.txt", contents: ""),
                ],
                summary: "Python 3, OpenFaaS python3-http def handle(event, context): a long-running server (http mode)",
                buildSupportFiles: [TemplateFile(path: "index.py", contents: ProcessTemplateSources.pythonHTTPIndex)])
        case .node:
            FunctionTemplate(
                language: .node,
                files: [
                    TemplateFile(path: "handler.js", contents: ProcessTemplateSources.nodeHandler),
                    TemplateFile(path: "package.json", contents: ProcessTemplateSources.nodePackage),
                ],
                summary: "Node.js, OpenFaaS node async (event, context) => …: a long-running server (http mode)",
                buildSupportFiles: [TemplateFile(path: "index.js", contents: ProcessTemplateSources.nodeIndex)])
        case .bash:
            FunctionTemplate(
                language: .bash,
                files: [TemplateFile(path: "handler.sh", contents: ProcessTemplateSources.bashHandler)],
                summary: "bash, body on stdin and answer on stdout: a process per request",
                buildSupportFiles: [])
        case .bootstrap:
            FunctionTemplate(
                language: .bootstrap,
                files: [TemplateFile(path: "bootstrap", contents: BootstrapTemplateSources.awsBootstrap)],
                summary: "custom runtime: any executable named bootstrap using the AWS Lambda Runtime API (bash sample)",
                buildSupportFiles: [])
        case .scfBootstrap:
            FunctionTemplate(
                language: .scfBootstrap,
                files: [
                    TemplateFile(path: "bootstrap", contents: BootstrapTemplateSources.scfBootstrap),
                    TemplateFile(path: "index.sh", contents: BootstrapTemplateSources.scfHandler),
                ],
                summary: "Tencent SCF custom runtime in bash (bootstrap + index.sh main_handler) behind an SCF API gateway event",
                buildSupportFiles: [])
        case .swiftLambda:
            FunctionTemplate(
                language: .swiftLambda,
                files: [TemplateFile(path: "main.swift", contents: BootstrapTemplateSources.swiftLambdaHandler)],
                summary: "Swift Lambda function (swift-aws-lambda-runtime API) compiled to a native bootstrap, behind a function URL event",
                buildSupportFiles: [TemplateFile(path: "AWSLambdaRuntime.swift", contents: BootstrapTemplateSources.lambdaRuntime)])
        }
    }

    /// Every built-in template, in `TemplateLanguage` order.
    public static var all: [FunctionTemplate] {
        TemplateLanguage.allCases.map(template(for:))
    }
}
