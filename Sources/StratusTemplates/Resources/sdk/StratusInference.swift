// Stratus guest SDK: inference and images. WASI-NN (`wasi_ephemeral_nn`, as WasmEdge and Wasmtime
// define it) runs models on the host's ONNX Runtime; `stratus_image` decodes, crops and normalises
// images on the host, so the guest stays small and fast. Models are declared in stack.yml
// (`com.stratus.model.NAME: path/to/model.onnx`) and loaded by that name.

/// A WASI-NN call failed; `code` is the errno the host returned (details go to the function's log).
struct NNError: Error {
    /// The WASI-NN errno: 1 invalid argument, 2 invalid encoding, 5 runtime error, 7 too large, 8 not found...
    let code: UInt32

    /// The errno's WASI-NN name, e.g. "not_found".
    var name: String {
        switch code {
        case 1: return "invalid_argument"
        case 2: return "invalid_encoding"
        case 3: return "missing_memory"
        case 4: return "busy"
        case 5: return "runtime_error"
        case 6: return "unsupported_operation"
        case 7: return "too_large"
        case 8: return "not_found"
        default: return "error " + _stratusDecimal(Int(code))
        }
    }
}

/// A tensor's element type, numbered as in WASI-NN.
enum TensorType: UInt8 {
    case f16 = 0, f32 = 1, f64 = 2, u8 = 3, i32 = 4, i64 = 5
}

/// A model loaded by the host, declared in stack.yml.
struct Graph {
    /// The host's handle (an index into this instance's table).
    let handle: UInt32

    /// Loads the model the function declared as `name` (`com.stratus.model.NAME`). Throws
    /// `not_found` for a name stack.yml does not declare.
    static func load(named name: String) throws(NNError) -> Graph {
        var handle: UInt32 = 0
        let bytes = Array(name.utf8)
        let code = bytes.withUnsafeBufferPointer { _stratus_nn_load_by_name($0.baseAddress, UInt32($0.count), &handle) }
        guard code == 0 else { throw NNError(code: code) }
        return Graph(handle: handle)
    }

    /// A fresh execution context to set inputs, compute and read outputs.
    func makeContext() throws(NNError) -> ExecutionContext {
        var context: UInt32 = 0
        let code = _stratus_nn_init_execution_context(handle, &context)
        guard code == 0 else { throw NNError(code: code) }
        return ExecutionContext(handle: context)
    }
}

/// One inference: inputs in, `compute`, outputs out.
struct ExecutionContext {
    /// The host's handle.
    let handle: UInt32

    /// Sets input `index` to a tensor of `type` with `dimensions`, its elements as raw bytes.
    func setInput(_ index: UInt32, dimensions: [UInt32], type: TensorType, bytes: UnsafeRawBufferPointer) throws(NNError) {
        let code = dimensions.withUnsafeBufferPointer { dims -> UInt32 in
            var tensor = _StratusTensor(
                dimensions: dims.baseAddress, rank: UInt32(dims.count), type: type.rawValue,
                data: bytes.baseAddress, length: UInt32(bytes.count))
            return withUnsafePointer(to: &tensor) { _stratus_nn_set_input(handle, index, UnsafeRawPointer($0)) }
        }
        guard code == 0 else { throw NNError(code: code) }
    }

    /// Sets input `index` to an f32 tensor with `dimensions`.
    func setInput(_ index: UInt32, dimensions: [UInt32], floats: [Float]) throws(NNError) {
        let code = floats.withUnsafeBytes { bytes in
            dimensions.withUnsafeBufferPointer { dims -> UInt32 in
                var tensor = _StratusTensor(
                    dimensions: dims.baseAddress, rank: UInt32(dims.count), type: TensorType.f32.rawValue,
                    data: bytes.baseAddress, length: UInt32(bytes.count))
                return withUnsafePointer(to: &tensor) { _stratus_nn_set_input(handle, index, UnsafeRawPointer($0)) }
            }
        }
        guard code == 0 else { throw NNError(code: code) }
    }

    /// Runs the model on the inputs set.
    func compute() throws(NNError) {
        let code = _stratus_nn_compute(handle)
        guard code == 0 else { throw NNError(code: code) }
    }

    /// Output `index` as raw bytes; throws `too_large` when it needs more than `maxBytes`.
    func output(_ index: UInt32, maxBytes: Int) throws(NNError) -> [UInt8] {
        var code: UInt32 = 0
        // Uninitialised storage the host fills: zeroing it first costs more than inference's
        // own work in an interpreter.
        let bytes = [UInt8](unsafeUninitializedCapacity: maxBytes) { buffer, initialized in
            var written: UInt32 = 0
            code = _stratus_nn_get_output(handle, index, buffer.baseAddress, UInt32(maxBytes), &written)
            initialized = code == 0 ? min(Int(written), maxBytes) : 0
        }
        guard code == 0 else { throw NNError(code: code) }
        return bytes
    }

    /// Output `index` as `count` f32 values; throws `too_large` when it holds more.
    func floatOutput(_ index: UInt32, count: Int) throws(NNError) -> [Float] {
        var code: UInt32 = 0
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            var written: UInt32 = 0
            code = _stratus_nn_get_output(handle, index, UnsafeMutableRawPointer(buffer.baseAddress), UInt32(count * 4), &written)
            initialized = code == 0 ? min(Int(written) / 4, count) : 0
        }
        guard code == 0 else { throw NNError(code: code) }
        return values
    }
}

/// How the host turns an image into a tensor.
struct ImageTensorSpec {
    /// Resize to exactly width x height, or scale the shorter side and crop the centre.
    enum Resize: UInt32 { case stretch = 0, centerCrop = 1 }
    /// Channels last (N, H, W, C) or channels first (N, C, H, W).
    enum Layout: UInt32 { case nhwc = 0, nchw = 1 }
    /// Channel order.
    enum Order: UInt32 { case rgb = 0, bgr = 1 }

    var width: UInt32
    var height: UInt32
    var resize: Resize = .centerCrop
    /// With `.centerCrop`, the central fraction of the square (or target-shaped) window that is
    /// resized, in whole pixels: 1 keeps it all; EfficientNet and most ImageNet models are
    /// evaluated with 224 / 256 = 0.875.
    var crop: Float = 1
    var layout: Layout = .nchw
    var order: Order = .rgb
    /// Each f32 element is (pixel - mean) / std, per channel (in tensor channel order).
    var mean: (Float, Float, Float) = (0, 0, 0)
    var std: (Float, Float, Float) = (1, 1, 1)
}

/// Why an image could not become a tensor.
enum ImageError: Error {
    /// Not a JPEG or PNG, or a corrupt/truncated one.
    case notAnImage
    /// Larger than the host accepts (40 megapixels).
    case tooLarge
    /// Another errno from the host (details in the function's log).
    case failed(UInt32)
}

/// Decodes the JPEG or PNG in `image` on the host and returns it as an f32 tensor laid out as `spec` says.
func imageTensor(_ image: [UInt8], spec: ImageTensorSpec) throws(ImageError) -> [Float] {
    let count = Int(spec.width) * Int(spec.height) * 3
    var raw = _StratusImageSpec(
        width: spec.width, height: spec.height,
        resize: spec.resize.rawValue | (spec.crop >= 1 ? 0 : UInt32(max(1, (spec.crop * 10_000).rounded())) << 16), layout: spec.layout.rawValue,
        order: spec.order.rawValue, type: UInt32(TensorType.f32.rawValue),
        mean: spec.mean, std: spec.std)
    var code: UInt32 = 0
    // The host writes every element; uninitialised storage saves zeroing 150k floats in an interpreter.
    let values = [Float](unsafeUninitializedCapacity: count) { output, initialized in
        var written: UInt32 = 0
        code = image.withUnsafeBufferPointer { input in
            withUnsafePointer(to: &raw) {
                _stratus_image_to_tensor(input.baseAddress, UInt32(input.count), UnsafeRawPointer($0),
                                         UnsafeMutableRawPointer(output.baseAddress), UInt32(count * 4), &written)
            }
        }
        initialized = code == 0 ? count : 0
    }
    switch code {
    case 0: return values
    case 2: throw .notAnImage
    case 7: throw .tooLarge
    default: throw .failed(code)
    }
}

/// Decodes standard or URL-safe base64 (padding optional, whitespace and JSON's `\/` allowed); nil when invalid.
func base64Decode(_ text: some Collection<UInt8>) -> [UInt8]? {
    var result: [UInt8] = []
    result.reserveCapacity(text.count * 3 / 4)
    var buffer: UInt32 = 0
    var bits = 0
    var padding = false
    for byte in text {
        let value: UInt32
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
        case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
        case UInt8(ascii: "="): padding = true; continue
        case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), UInt8(ascii: "\\"): continue
        default: return nil
        }
        if padding { return nil }
        buffer = (buffer << 6) | value
        bits += 6
        if bits >= 8 {
            bits -= 8
            result.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
        }
    }
    return bits >= 6 ? nil : result
}

/// The `k` largest scores with their indices, largest first.
func topK(_ scores: [Float], _ k: Int) -> [(index: Int, score: Float)] {
    var best: [(index: Int, score: Float)] = []
    for (index, score) in scores.enumerated() {
        if best.count == k, let last = best.last, !(score > last.score) { continue }
        var position = best.count
        while position > 0 && score > best[position - 1].score { position -= 1 }
        best.insert((index, score), at: position)
        if best.count > k { best.removeLast() }
    }
    return best
}

/// `value` as a decimal with `places` digits after the point, rounded: (0.38674, 2) -> "0.39".
func formatDecimal(_ value: Float, places: Int) -> String {
    var scale = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = Double(value) * Double(scale)
    guard scaled.isFinite, scaled.magnitude < 1e15 else { return scaled.isNaN ? "nan" : (scaled < 0 ? "-inf" : "inf") }
    let rounded = Int((scaled.magnitude + 0.5).rounded(.down))
    let whole = _stratusDecimal(rounded / scale)
    var fraction = _stratusDecimal(rounded % scale)
    while fraction.utf8.count < places { fraction = "0" + fraction }
    return (value < 0 && rounded != 0 ? "-" : "") + whole + (places > 0 ? "." + fraction : "")
}

func _stratusDecimal(_ value: Int) -> String {
    if value == 0 { return "0" }
    var digits: [UInt8] = []
    var rest = value.magnitude
    while rest > 0 {
        digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
        rest /= 10
    }
    if value < 0 { digits.append(UInt8(ascii: "-")) }
    return String(decoding: digits.reversed(), as: UTF8.self)
}

// MARK: - Host imports

struct _StratusTensor {
    var dimensions: UnsafePointer<UInt32>?
    var rank: UInt32
    var type: UInt8
    var data: UnsafeRawPointer?
    var length: UInt32
}

struct _StratusImageSpec {
    var width: UInt32
    var height: UInt32
    var resize: UInt32
    var layout: UInt32
    var order: UInt32
    var type: UInt32
    var mean: (Float, Float, Float)
    var std: (Float, Float, Float)
}

@_extern(wasm, module: "wasi_ephemeral_nn", name: "load_by_name") @_extern(c)
func _stratus_nn_load_by_name(_ name: UnsafePointer<UInt8>?, _ length: UInt32, _ graph: UnsafeMutablePointer<UInt32>) -> UInt32

@_extern(wasm, module: "wasi_ephemeral_nn", name: "init_execution_context") @_extern(c)
func _stratus_nn_init_execution_context(_ graph: UInt32, _ context: UnsafeMutablePointer<UInt32>) -> UInt32

@_extern(wasm, module: "wasi_ephemeral_nn", name: "set_input") @_extern(c)
func _stratus_nn_set_input(_ context: UInt32, _ index: UInt32, _ tensor: UnsafeRawPointer) -> UInt32

@_extern(wasm, module: "wasi_ephemeral_nn", name: "compute") @_extern(c)
func _stratus_nn_compute(_ context: UInt32) -> UInt32

@_extern(wasm, module: "wasi_ephemeral_nn", name: "get_output") @_extern(c)
func _stratus_nn_get_output(_ context: UInt32, _ index: UInt32, _ buffer: UnsafeMutableRawPointer?, _ capacity: UInt32,
                            _ written: UnsafeMutablePointer<UInt32>) -> UInt32

@_extern(wasm, module: "stratus_image", name: "to_tensor") @_extern(c)
func _stratus_image_to_tensor(_ image: UnsafePointer<UInt8>?, _ length: UInt32, _ spec: UnsafeRawPointer,
                              _ output: UnsafeMutableRawPointer?, _ capacity: UInt32, _ written: UnsafeMutablePointer<UInt32>) -> UInt32
