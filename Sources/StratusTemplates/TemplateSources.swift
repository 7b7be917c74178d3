// The templates' files live in Resources/templates/, named `LANGUAGE.FILE` (SwiftPM's embedInCode
// wants names unique in the target), and are compiled in as bytes: edit them there.

/// The text of the files `stratus new` writes for the Wasm languages.
enum TemplateSources {
    static let swiftHandler = text(PackageResources.swift_wasm_handler_swift)
    static let cHandler = text(PackageResources.c_wasm_handler_c)
    static let cHeader = text(PackageResources.c_wasm_stratus_h)
}

/// The text of the process templates (OpenFaaS classic watchdog style).
enum ProcessTemplateSources {
    static let pythonHandler = text(PackageResources.python3_handler_py)
    /// OpenFaaS's python3 template entry point: read stdin, call handle, print what it returns.
    static let pythonIndex = text(PackageResources.python3_index_py)
    /// OpenFaaS's python3-http handler shape: `handle(event, context)` returns a dict with
    /// `statusCode`, `body` and `headers` (or just a body).
    static let pythonHTTPHandler = text(PackageResources.python3_http_handler_py)
    /// A standard-library HTTP server on 127.0.0.1:$PORT that calls `handle(event, context)` per request.
    static let pythonHTTPIndex = text(PackageResources.python3_http_index_py)
    /// OpenFaaS's node handler shape: `async (event, context)`, answering with `context.status(…).succeed(…)`.
    static let nodeHandler = text(PackageResources.node_handler_js)
    static let nodePackage = text(PackageResources.node_package_json)
    /// A Node.js `http` server on 127.0.0.1:$PORT that calls the handler per request.
    static let nodeIndex = text(PackageResources.node_index_js)
    static let bashHandler = text(PackageResources.bash_handler_sh)
}

/// The text of the custom-runtime templates: an executable `bootstrap` that asks the runtime API
/// for events and posts answers (Tencent SCF custom runtime, AWS Lambda Runtime API).
enum BootstrapTemplateSources {
    /// A bash bootstrap in the shape of Tencent SCF's custom runtime sample: report ready, then
    /// long-poll events, run the handler named by `_HANDLER` (`file.function`), post the answer.
    static let scfBootstrap = text(PackageResources.scf_bootstrap_bootstrap)
    /// The handler the SCF bootstrap sources: `main_handler EVENT` prints the answer. With the
    /// `apigateway-scf` event format the event is the API gateway's JSON and the answer an
    /// integration response.
    static let scfHandler = text(PackageResources.scf_bootstrap_index_sh)
    /// A bash bootstrap speaking the AWS Lambda Runtime API (`lang: bootstrap`): replace the
    /// handling step with your own program, or the whole file with any executable.
    static let awsBootstrap = text(PackageResources.bootstrap_bootstrap)
    /// A Swift Lambda function in swift-aws-lambda-runtime's 2.x style, behind a function URL
    /// (event format `apigateway-aws`).
    static let swiftLambdaHandler = text(PackageResources.swift_lambda_main_swift)
    /// The `AWSLambdaRuntime` module the swift-lambda template builds against: the Lambda Runtime
    /// API client with swift-aws-lambda-runtime's public API (`LambdaRuntime`, `LambdaContext`,
    /// `LambdaHandler`), on Foundation and POSIX sockets only.
    static let lambdaRuntime = text(PackageResources.swift_lambda_AWSLambdaRuntime_swift)
}

/// An embedded file's bytes as text (they are UTF-8).
private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
