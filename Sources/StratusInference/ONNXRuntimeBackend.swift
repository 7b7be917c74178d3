public import StratusModel
import CStratusORT
import Foundation
import Synchronization

/// ONNX Runtime (CPU) through its C API. The shared library is opened at run time from a path, so
/// Stratus builds and runs without it; `findLibrary()` looks for it where `scripts/setup-models.sh`
/// puts it.
///
/// One ONNX Runtime (one library, one environment) serves the whole process: a second backend
/// must use the same library file. Models are cached per digest for the backend's lifetime and each
/// is loaded once, even when asked for from several threads at once.
public final class ONNXRuntimeBackend: InferenceBackend {
    /// `onnxruntime <version>`, e.g. `onnxruntime 1.22.1`.
    public let name: String
    /// The library's version string, e.g. `1.22.1`.
    public let version: String
    /// The OrtApi version negotiated with the library.
    public let apiVersion: Int
    /// Threads each session may use inside one operator; 1 runs every operator on the calling thread.
    public let intraOpThreads: Int
    /// Whether a session's pool threads busy-wait between operators (faster, but burns CPU).
    public let allowSpinning: Bool

    private let cache = Mutex<[Digest: ModelSlot]>([:])

    /// Names the environment variable that, when set, gives the library's path.
    public static let libraryPathVariable = "STRATUS_ONNXRUNTIME"

    /// The library's file name on this platform.
    public static var libraryFileName: String {
        #if canImport(Darwin)
            "libonnxruntime.dylib"
        #else
            "libonnxruntime.so"
        #endif
    }

    /// Opens ONNX Runtime from `libraryPath`.
    /// - Parameters:
    ///   - intraOpThreads: threads per session for work inside an operator (0: ONNX Runtime's default,
    ///     one per physical core). With 1 no thread pool is made and each run uses only its caller's thread.
    ///   - allowSpinning: let pool threads spin while waiting for work (ONNX Runtime's default is to
    ///     spin; Stratus runs many functions side by side, so it defaults to not spinning).
    public init(libraryPath: String, intraOpThreads: Int = 1, allowSpinning: Bool = false) throws(InferenceError) {
        guard intraOpThreads >= 0, intraOpThreads <= 1024 else {
            throw .unavailable("intraOpThreads must be between 0 (ONNX Runtime's default) and 1024, not \(intraOpThreads)")
        }
        var message = ErrorBuffer()
        let rc = message.withPointer { stratus_ort_open(libraryPath, $0, $1) }
        guard rc == Int32(STRATUS_ORT_OK), let version = stratus_ort_version() else {
            throw InferenceError(code: rc, message: message.text)
        }
        self.version = String(cString: version)
        self.name = "onnxruntime \(self.version)"
        self.apiVersion = Int(stratus_ort_api_version())
        self.intraOpThreads = intraOpThreads
        self.allowSpinning = allowSpinning
    }

    /// Where the library is: the path in `STRATUS_ONNXRUNTIME` when set (returned even if nothing is
    /// there, so that a wrong setting fails loudly), else the first `.cache/onnxruntime/lib/<libraryFileName>`
    /// found in the current directory or above it, then in the executable's directory or above it.
    /// The parameters replace the process's environment, current directory and executable (for tests).
    public static func findLibrary(
        environment: [String: String]? = nil, currentDirectory: String? = nil, executablePath: String? = nil
    ) -> String? {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let path = environment[libraryPathVariable], !path.isEmpty { return path }
        return SetupFiles.find(".cache/onnxruntime/lib/\(libraryFileName)", currentDirectory: currentDirectory, executablePath: executablePath)
    }

    public func model(digest: Digest, bytes: [UInt8]) throws(InferenceError) -> any InferenceModel {
        let slot = cache.withLock { slots in
            if let slot = slots[digest] { return slot }
            let slot = ModelSlot()
            slots[digest] = slot
            return slot
        }
        do {
            return try slot.model { () throws(InferenceError) in
                try ONNXRuntimeModel(bytes: bytes, intraOpThreads: intraOpThreads, allowSpinning: allowSpinning)
            }
        } catch {
            // Forget the failure so that the table does not grow with bad uploads; a later call tries again.
            cache.withLock { slots in
                if slots[digest] === slot { slots[digest] = nil }
            }
            throw error
        }
    }

    /// How many digests have a model loaded or loading.
    public var cachedModelCount: Int { cache.withLock { $0.count } }
}

/// One digest's model, loaded on first use. Callers that arrive while it loads wait for it.
private final class ModelSlot: Sendable {
    private let loaded = Mutex<ONNXRuntimeModel?>(nil)

    func model(load: () throws(InferenceError) -> ONNXRuntimeModel) throws(InferenceError) -> ONNXRuntimeModel {
        try loaded.withLock { (model) throws(InferenceError) -> ONNXRuntimeModel in
            if let model { return model }
            let fresh = try load()
            model = fresh
            return fresh
        }
    }
}

/// A session and the graph's inputs and outputs as ONNX Runtime reports them.
///
/// `@unchecked Sendable`: the session handle never changes after init, the C layer keeps the
/// input/output descriptions read-only, and ONNX Runtime allows concurrent `Run` calls on a session.
final class ONNXRuntimeModel: InferenceModel, @unchecked Sendable {
    let inputs: [TensorInfo]
    let outputs: [TensorInfo]
    private let session: OpaquePointer

    init(bytes: [UInt8], intraOpThreads: Int, allowSpinning: Bool) throws(InferenceError) {
        var message = ErrorBuffer()
        var created: OpaquePointer?
        let rc = bytes.withUnsafeBytes { raw in
            message.withPointer { buffer, length in
                stratus_ort_session_create(
                    raw.baseAddress, raw.count, Int32(intraOpThreads), allowSpinning ? 1 : 0, &created, buffer, length)
            }
        }
        guard rc == Int32(STRATUS_ORT_OK), let session = created else {
            throw InferenceError(code: rc, message: message.text)
        }
        do {
            inputs = try Self.describe(session, isOutput: false)
            outputs = try Self.describe(session, isOutput: true)
        } catch {
            stratus_ort_session_free(session)
            throw error
        }
        self.session = session
    }

    deinit { stratus_ort_session_free(session) }

    private static func describe(_ session: OpaquePointer, isOutput: Bool) throws(InferenceError) -> [TensorInfo] {
        let side: Int32 = isOutput ? 1 : 0
        let what = isOutput ? "output" : "input"
        var infos: [TensorInfo] = []
        for index in 0..<stratus_ort_session_io_count(session, side) {
            let name = stratus_ort_session_io_name(session, side, index).map { String(cString: $0) } ?? "#\(index)"
            guard stratus_ort_session_io_is_tensor(session, side, index) != 0 else {
                throw .invalidModel("\(what) '\(name)' is not a tensor (sequences, maps and optional values are not supported)")
            }
            let code = stratus_ort_session_io_element_type(session, side, index)
            guard let type = TensorElementType(onnx: code) else {
                throw .invalidModel(
                    "\(what) '\(name)' has element type \(TensorElementType.onnxName(code)), which is not supported "
                        + "(supported: \(TensorElementType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let rank = stratus_ort_session_io_shape(session, side, index, nil, 0)
            var dims = [Int64](repeating: 0, count: rank)
            _ = stratus_ort_session_io_shape(session, side, index, &dims, rank)
            // Symbolic dimensions ("batch") and unknown ones both read as -1.
            infos.append(TensorInfo(name: name, type: type, shape: dims.map { $0 < 0 ? -1 : Int($0) }))
        }
        return infos
    }

    func run(_ tensors: [Tensor]) throws(InferenceError) -> [Tensor] {
        try validate(tensors)
        let shapes = tensors.map { $0.shape.map { Int64($0) } }
        var message = ErrorBuffer()
        var results = [stratus_ort_output](repeating: stratus_ort_output(), count: outputs.count)
        var prepared: [stratus_ort_input] = []
        prepared.reserveCapacity(tensors.count)
        let rc = Self.withInputs(tensors, shapes, 0, &prepared) { prepared in
            message.withPointer { buffer, length in
                stratus_ort_run(session, prepared, prepared.count, &results, results.count, buffer, length)
            }
        }
        guard rc == Int32(STRATUS_ORT_OK) else { throw InferenceError(code: rc, message: message.text) }
        defer { stratus_ort_outputs_free(&results, results.count) }

        var tensorsOut: [Tensor] = []
        tensorsOut.reserveCapacity(results.count)
        for (index, result) in results.enumerated() {
            guard let type = TensorElementType(onnx: result.element_type) else {
                throw .runtime(
                    "output '\(outputs[index].name)' came back as \(TensorElementType.onnxName(result.element_type))")
            }
            let shape = (0..<result.rank).map { Int(result.shape[$0]) }
            let data = result.byte_len == 0 ? [] : Array(UnsafeRawBufferPointer(start: result.data, count: result.byte_len))
            tensorsOut.append(Tensor(type: type, shape: shape, data: data))
        }
        return tensorsOut
    }

    /// Calls `body` with one `stratus_ort_input` per tensor whose pointers stay valid during the call.
    private static func withInputs<R>(
        _ tensors: [Tensor], _ shapes: [[Int64]], _ index: Int, _ prepared: inout [stratus_ort_input],
        _ body: ([stratus_ort_input]) -> R
    ) -> R {
        if index == tensors.count { return body(prepared) }
        return tensors[index].data.withUnsafeBytes { data in
            shapes[index].withUnsafeBufferPointer { shape in
                prepared.append(
                    stratus_ort_input(
                        element_type: tensors[index].type.onnxCode, shape: shape.baseAddress, rank: shape.count,
                        data: data.baseAddress, byte_len: data.count))
                return withInputs(tensors, shapes, index + 1, &prepared, body)
            }
        }
    }

    /// Checks count, type, shape and byte size against the graph, so that ONNX Runtime only sees
    /// inputs it accepts.
    private func validate(_ tensors: [Tensor]) throws(InferenceError) {
        guard tensors.count == inputs.count else {
            let names = inputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw .invalidInput("the model takes \(inputs.count) input(s) (\(names)), got \(tensors.count)")
        }
        for (info, tensor) in zip(inputs, tensors) {
            guard tensor.type == info.type else {
                throw .invalidInput("input '\(info.name)' must be \(info.type.rawValue), got \(tensor.type.rawValue)")
            }
            let expected = Self.format(info.shape)
            guard tensor.shape.count == info.shape.count else {
                throw .invalidInput(
                    "input '\(info.name)' must have shape \(expected) (rank \(info.shape.count)), got \(Self.format(tensor.shape))")
            }
            for (axis, (want, got)) in zip(info.shape, tensor.shape).enumerated() {
                if want >= 0 ? got != want : got <= 0 {
                    throw .invalidInput(
                        "input '\(info.name)' must have shape \(expected), got \(Self.format(tensor.shape)) "
                            + "(dimension \(axis) is \(got), expected \(want >= 0 ? String(want) : "any size above 0"))")
                }
            }
            guard let count = tensor.elementCount else {
                throw .invalidInput("input '\(info.name)' has an impossible shape \(Self.format(tensor.shape))")
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: tensor.type.byteSize)
            guard !overflow, bytes == tensor.data.count else {
                throw .invalidInput(
                    "input '\(info.name)' of shape \(Self.format(tensor.shape)) and type \(tensor.type.rawValue) needs "
                        + "\(overflow ? "too many" : String(bytes)) bytes, got \(tensor.data.count)")
            }
        }
    }

    private static func format(_ shape: [Int]) -> String {
        "[" + shape.map { $0 < 0 ? "?" : String($0) }.joined(separator: ", ") + "]"
    }
}

/// A buffer the C layer writes an error message into.
private struct ErrorBuffer {
    private var bytes = [CChar](repeating: 0, count: 2048)

    mutating func withPointer<R>(_ body: (UnsafeMutablePointer<CChar>, Int) -> R) -> R {
        bytes.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    }

    var text: String {
        let message = bytes.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        // ONNX Runtime's messages may span lines; one line reads better in logs and responses.
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return line.isEmpty ? "unknown ONNX Runtime error" : line
    }
}

extension InferenceError {
    fileprivate init(code: Int32, message: String) {
        switch code {
        case Int32(STRATUS_ORT_ERR_UNAVAILABLE): self = .unavailable(message)
        case Int32(STRATUS_ORT_ERR_MODEL): self = .invalidModel(message)
        case Int32(STRATUS_ORT_ERR_INPUT): self = .invalidInput(message)
        default: self = .runtime(message)
        }
    }
}

extension TensorElementType {
    /// ONNX's number for the type (onnx.TensorProto.DataType).
    fileprivate var onnxCode: Int32 {
        switch self {
        case .float32: Int32(STRATUS_ORT_TYPE_FLOAT)
        case .uint8: Int32(STRATUS_ORT_TYPE_UINT8)
        case .int8: Int32(STRATUS_ORT_TYPE_INT8)
        case .int32: Int32(STRATUS_ORT_TYPE_INT32)
        case .int64: Int32(STRATUS_ORT_TYPE_INT64)
        case .float16: Int32(STRATUS_ORT_TYPE_FLOAT16)
        case .float64: Int32(STRATUS_ORT_TYPE_DOUBLE)
        }
    }

    fileprivate init?(onnx code: Int32) {
        guard let type = Self.allCases.first(where: { $0.onnxCode == code }) else { return nil }
        self = type
    }

    /// A readable name for any ONNX element type number.
    fileprivate static func onnxName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
            8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64",
            15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
            20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
        ]
        return names[code] ?? "ONNX type \(code)"
    }
}
