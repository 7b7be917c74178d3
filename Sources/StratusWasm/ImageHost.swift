import WasmKit

/// The `stratus_image` host module: decoding a JPEG inside interpreted Wasm is slow, so the host
/// decodes JPEG/PNG, crops, resizes and normalises straight into a tensor in guest memory.
///
/// `to_tensor(image, image_len, spec, out, out_capacity, written) -> errno` where `spec` points at
/// 48 bytes: width, height, resize (low byte: 0 stretch, 1 shorter side then centre crop; bits
/// 16-31: with centre crop, the central fraction kept in 1/10000 — 8750 is EfficientNet's 87.5 %
/// — 0 meaning all of it), layout (0 NHWC,
/// 1 NCHW), order (0 RGB, 1 BGR), type (WASI-NN tensor type: 1 f32, 3 u8) as u32, then mean[3] and
/// std[3] as f32 (f32 value = (pixel - mean) / std). Errors use WASI-NN's numbers: 1 invalid
/// argument (pointers, spec), 2 not an image or corrupt, 7 too large (image or output buffer).
struct ImageHost {
    let context: HostContext
    var io: GuestIO { context.io }

    static let moduleName = "stratus_image"
    static let signatures: [String: FunctionType] = [
        "to_tensor": FunctionType(parameters: Array(repeating: .i32, count: 6), results: [.i32]),
    ]
    /// WasmEdge's image plugin, so guests built with `wasmedge_tensorflow_interface` run unchanged:
    /// `load_jpg/load_png/load_image(in, in_len, width, height, type, out, out_len) -> 0 | 1`, type
    /// 0 RGB8, 1 BGR8, 2 RGB32F, 3 BGR32F; NHWC, stretched to width x height, f32 = value / 255.
    static let wasmEdgeModuleName = "wasmedge_image"
    static let wasmEdgeSignatures: [String: FunctionType] = [
        "load_jpg": FunctionType(parameters: Array(repeating: .i32, count: 7), results: [.i32]),
        "load_png": FunctionType(parameters: Array(repeating: .i32, count: 7), results: [.i32]),
        "load_image": FunctionType(parameters: Array(repeating: .i32, count: 7), results: [.i32]),
    ]
    /// Largest image decoded: 40 megapixels (a 50-megapixel image is refused before it is decoded).
    static let maxPixels = 40_000_000
    /// Largest tensor side a guest may ask for.
    static let maxSide: UInt32 = 4096

    /// `stratus_image.to_tensor` and WasmEdge's `load_*`.
    static func functions() -> [HostFunction] {
        let own = signatures.sorted { $0.key < $1.key }.map { name, type in
            HostFunction(module: moduleName, name: name, parameters: type.parameters.compactMap(HostFunction.Kind.init),
                         results: [.i32]) { context, a, out in
                out.pointee = Int64(ImageHost(context: context).toTensor((0..<6).map { a[$0].i32 }).rawValue)
            }
        }
        let wasmEdge = wasmEdgeSignatures.sorted { $0.key < $1.key }.map { name, type in
            HostFunction(module: wasmEdgeModuleName, name: name, parameters: type.parameters.compactMap(HostFunction.Kind.init),
                         results: [.i32]) { context, a, out in
                out.pointee = ImageHost(context: context).wasmEdgeLoad((0..<7).map { a[$0].i32 }) == .success ? 0 : 1
            }
        }
        return own + wasmEdge
    }

    /// WasmEdge's `load_*`: the same decode and resample, its argument layout and 0/1 result.
    func wasmEdgeLoad(_ a: [UInt32]) -> NNErrno {
        let (input, inputLength, width, height, type, output, outputLength) = (a[0], a[1], a[2], a[3], a[4], a[5], a[6])
        guard type <= 3 else { return .invalidArgument }
        let spec = TensorSpec(width: width, height: height, resize: 0, layout: 0, order: type % 2, type: type >= 2 ? 1 : 3,
                              mean: .zero, std: SIMD3(repeating: 255))
        return convert(image: input, length: inputLength, spec: spec, out: output, capacity: outputLength, written: nil)
    }

    private func complain(_ text: String) {
        io.stderr.append(contentsOf: Array("stratus_image: \(text)\n".utf8))
    }

    /// What the guest asked for, as it sent it (the 48-byte `spec` record, or WasmEdge's arguments).
    struct TensorSpec {
        var width, height, resize, layout, order, type: UInt32
        var mean, std: SIMD3<Float>
    }

    /// The spec's resize word: the mode in the low 16 bits, and with centre crop the fraction kept in
    /// the upper 16 (1/10000, 0 meaning all); `nil` when it asks for something else.
    static func resizing(_ word: UInt32) -> (DecodedImage.Resize, crop: Double)? {
        let mode = word & 0xffff, units = word >> 16
        switch (mode, units) {
        case (0, 0): return (.stretch, 1)
        case (1, 0): return (.shorterSideCenterCrop, 1)
        case (1, 1...10_000): return (.shorterSideCenterCrop, Double(units) / 10_000)
        default: return nil
        }
    }

    func toTensor(_ a: [UInt32]) -> NNErrno {
        guard let memory = context.memory else { return .missingMemory }
        let spec: TensorSpec? = { () -> TensorSpec? in
            guard WASIHost.range(memory, a[2], 48) != nil else { return nil }
            let word = { (index: Int) in WASIHost.load32(memory, a[2] &+ UInt32(index * 4)) ?? 0 }
            let float = { (index: Int) in Float(bitPattern: word(index)) }
            return TensorSpec(width: word(0), height: word(1), resize: word(2), layout: word(3), order: word(4), type: word(5),
                              mean: SIMD3(float(6), float(7), float(8)), std: SIMD3(float(9), float(10), float(11)))
        }()
        guard let spec else { return .invalidArgument }
        return convert(image: a[0], length: a[1], spec: spec, out: a[3], capacity: a[4], written: a[5])
    }

    /// Decodes the image at `image` and writes the tensor straight into guest memory at `out`
    /// (its size at `written`, when given).
    func convert(image: UInt32, length: UInt32, spec: TensorSpec, out: UInt32, capacity: UInt32, written: UInt32?) -> NNErrno {
        guard let memory = context.memory else { return .missingMemory }
        guard (1...Self.maxSide).contains(spec.width), (1...Self.maxSide).contains(spec.height),
            let (resize, crop) = Self.resizing(spec.resize), spec.layout <= 1, spec.order <= 1
        else {
            complain("invalid spec: size \(spec.width)x\(spec.height) (1...\(Self.maxSide)), resize 0/1 (crop fraction 1...10000 in the upper 16 bits, centre crop only), layout 0/1, order 0/1")
            return .invalidArgument
        }
        let type: DecodedImage.ElementType
        switch spec.type {
        case 1: type = .float32
        case 3: type = .uint8
        default:
            complain("tensor type \(spec.type) is not supported: use 1 (f32) or 3 (u8)")
            return .invalidArgument
        }
        let finite = (0..<3).allSatisfy { spec.mean[$0].isFinite && spec.std[$0].isFinite && spec.std[$0] != 0 }
        guard finite else {
            complain("mean and std must be finite and std non-zero")
            return .invalidArgument
        }
        guard let size = DecodedImage.tensorByteCount(width: Int(spec.width), height: Int(spec.height), type: type) else { return .invalidArgument }
        do {
            guard let imageRange = WASIHost.range(memory, image, Int(length)) else { return .invalidArgument }
            if let written, WASIHost.range(memory, written, 4) == nil { return .invalidArgument }
            guard size <= Int(capacity) else {
                complain("the tensor is \(size) bytes; the buffer holds \(capacity)")
                return .tooLarge
            }
            guard let target = WASIHost.range(memory, out, size) else { return .invalidArgument }
            do throws(ImageError) {
                let decoded = try DecodedImage.decode(Array(UnsafeRawBufferPointer(rebasing: memory[imageRange])), maxPixels: Self.maxPixels)
                try decoded.writeTensor(into: UnsafeMutableRawBufferPointer(rebasing: memory[target]), width: Int(spec.width), height: Int(spec.height),
                                        resize: resize, crop: crop, layout: spec.layout == 0 ? .nhwc : .nchw,
                                        order: spec.order == 0 ? .rgb : .bgr, type: type, mean: spec.mean, std: spec.std)
            } catch {
                complain(error.description)
                switch error {
                case .tooLarge: return .tooLarge
                case .invalidArguments: return .invalidArgument
                default: return .invalidEncoding
                }
            }
            guard let written else { return .success }
            return WASIHost.store32(memory, written, UInt32(size)) == .success ? .success : .invalidArgument
        }
    }
}
