/// The element type of a tensor's values.
public enum TensorElementType: String, Sendable, Codable, CaseIterable {
    case float16, float32, float64, uint8, int8, int32, int64

    /// Bytes per value.
    public var byteSize: Int {
        switch self {
        case .uint8, .int8: 1
        case .float16: 2
        case .float32, .int32: 4
        case .float64, .int64: 8
        }
    }
}

/// A graph input or output as the model declares it; a dimension of -1 is dynamic.
public struct TensorInfo: Sendable, Equatable, Codable {
    public var name: String
    public var type: TensorElementType
    public var shape: [Int]

    public init(name: String, type: TensorElementType, shape: [Int]) {
        self.name = name
        self.type = type
        self.shape = shape
    }
}

/// A tensor's values, little-endian and densely packed in row-major order.
public struct Tensor: Sendable, Equatable {
    public var type: TensorElementType
    public var shape: [Int]
    public var data: [UInt8]

    public init(type: TensorElementType, shape: [Int], data: [UInt8]) {
        self.type = type
        self.shape = shape
        self.data = data
    }

    /// Values the shape calls for, or nil for a negative dimension or an overflow.
    public var elementCount: Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}

/// Why a model could not be loaded or run; the message is safe to show to the function's author.
public enum InferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The engine is not installed or could not be started.
    case unavailable(String)
    /// The bytes are not a model the engine can load.
    case invalidModel(String)
    /// Inputs that do not match the graph (count, type, shape, size).
    case invalidInput(String)
    /// The engine failed while running the graph.
    case runtime(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "inference engine unavailable: \(why)"
        case .invalidModel(let why): "invalid model: \(why)"
        case .invalidInput(let why): "invalid input: \(why)"
        case .runtime(let why): "inference failed: \(why)"
        }
    }
}

/// An inference engine (ONNX Runtime today). Implementations load each model once per digest
/// and may be called from many threads at once.
public protocol InferenceBackend: Sendable {
    /// The engine's name and version, e.g. `onnxruntime 1.20.1`.
    var name: String { get }
    /// A loaded model for these bytes; repeated calls with the same digest return the cached one.
    func model(digest: Digest, bytes: [UInt8]) throws(InferenceError) -> any InferenceModel
}

/// A loaded graph, ready to run; safe to run from several threads at once.
public protocol InferenceModel: Sendable {
    var inputs: [TensorInfo] { get }
    var outputs: [TensorInfo] { get }
    /// Runs the graph on one tensor per input, in `inputs` order; returns one per output, in `outputs` order.
    func run(_ inputs: [Tensor]) throws(InferenceError) -> [Tensor]
}
