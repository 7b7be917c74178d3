/// The Embedded Swift guest SDK that `stratus build` compiles next to a `swift-wasm` handler. Its
/// sources are Resources/sdk/ (resources, so never compiled into this module), embedded as bytes.
enum GuestSDK {
    /// The SDK's file name in the build folder.
    static let swiftFileName = "Stratus.swift"

    /// The inference and image helpers' file name in the build folder.
    static let inferenceFileName = "StratusInference.swift"

    /// The SDK's source: `Request`, `Response`, `log`, and the `main` that calls `handle`.
    static let swiftSource = String(decoding: PackageResources.Stratus_swift, as: UTF8.self)

    /// The SDK's WASI-NN and image helpers: `Graph`, `ExecutionContext`, `imageTensor`, `base64Decode`,
    /// `topK`, `formatDecimal`. Host imports are only linked into modules that call them.
    static let inferenceSource = String(decoding: PackageResources.StratusInference_swift, as: UTF8.self)
}
