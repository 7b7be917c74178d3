import WasmKit

/// The `stratus_image` host module: decoding a JPEG inside interpreted Wasm is slow, so the host
/// decodes JPEG/PNG, crops, resizes and normalises straight into a tensor in guest memory.
///
/// `to_tensor(image, image_len, spec, out, out_capacity, written) -> errno` where `spec` points at
/// 48 bytes: width, height, resize (0 stretch, 1 shorter side then centre crop), layout (0 NHWC,
/// 1 NCHW), order (0 RGB, 1 BGR), type (WASI-NN tensor type: 1 f32, 3 u8) as u32, then mean[3] and
/// std[3] as f32 (f32 value = (pixel - mean) / std). Errors use WASI-NN's numbers: 1 invalid
/// argument (pointers, spec), 2 not an image or corrupt, 7 too large (image or output buffer).
struct ImageHost {
    let memoryBox: MemoryBox
    let io: GuestIO

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

    func define(for module: Module, store: Store, into imports: inout Imports) {
        for entry in module.imports {
            guard case .function = entry.descriptor else { continue }
            if entry.module == Self.moduleName, let type = Self.signatures[entry.name] {
                imports.define(module: entry.module, name: entry.name,
                               Function(store: store, parameters: type.parameters, results: type.results) { _, a in
                                   [.i32(toTensor(a.map(\.i32)).rawValue)]
                               })
            } else if entry.module == Self.wasmEdgeModuleName, let type = Self.wasmEdgeSignatures[entry.name] {
                imports.define(module: entry.module, name: entry.name,
                               Function(store: store, parameters: type.parameters, results: type.results) { _, a in
                                   [.i32(wasmEdgeLoad(a.map(\.i32)) == .success ? 0 : 1)]
                               })
            }
        }
    }

    /// WasmEdge's `load_*`: the same decode and resample, its argument layout and 0/1 result.
    func wasmEdgeLoad(_ a: [UInt32]) -> NNErrno {
        let (input, inputLength, width, height, type, output, outputLength) = (a[0], a[1], a[2], a[3], a[4], a[5], a[6])
        guard type <= 3 else { return .invalidArgument }
        return convert(image: input, length: inputLength, width: width, height: height, resize: 0, layout: 0, order: type % 2,
                       tensorType: type >= 2 ? 1 : 3, mean: [0, 0, 0], std: [255, 255, 255], out: output, capacity: outputLength, written: nil)
    }

    private func complain(_ text: String) {
        io.stderr.append(contentsOf: Array("stratus_image: \(text)\n".utf8))
    }

    func toTensor(_ a: [UInt32]) -> NNErrno {
        guard let memory = memoryBox.memory else { return .missingMemory }
        let spec: (words: [UInt32], floats: [Float])? = memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) { memory in
            guard WASIHost.range(memory, a[2], 48) != nil else { return nil }
            let words = (0..<6).map { WASIHost.load32(memory, a[2] &+ UInt32($0 * 4)) ?? 0 }
            let floats = (0..<6).map { Float(bitPattern: WASIHost.load32(memory, a[2] &+ UInt32(24 + $0 * 4)) ?? 0) }
            return (words, floats)
        }
        guard let spec else { return .invalidArgument }
        return convert(image: a[0], length: a[1], width: spec.words[0], height: spec.words[1], resize: spec.words[2], layout: spec.words[3],
                       order: spec.words[4], tensorType: spec.words[5], mean: Array(spec.floats[0..<3]), std: Array(spec.floats[3..<6]),
                       out: a[3], capacity: a[4], written: a[5])
    }

    /// Decodes the image at `image` and writes the tensor at `out` (its size at `written`, when given).
    func convert(image imagePointer: UInt32, length: UInt32, width: UInt32, height: UInt32, resize resizeCode: UInt32, layout layoutCode: UInt32,
                 order orderCode: UInt32, tensorType: UInt32, mean: [Float], std: [Float], out: UInt32, capacity: UInt32, written: UInt32?) -> NNErrno {
        guard let memory = memoryBox.memory else { return .missingMemory }
        let words = [width, height, resizeCode, layoutCode, orderCode, tensorType]
        let floats = mean + std
        let a = [imagePointer, length, 0, out, capacity, written ?? 0]
        return memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) { memory in
            guard let imageRange = WASIHost.range(memory, a[0], Int(a[1])) else { return .invalidArgument }
            if let written, WASIHost.range(memory, written, 4) == nil { return .invalidArgument }
            guard (1...Self.maxSide).contains(width), (1...Self.maxSide).contains(height),
                words[2] <= 1, words[3] <= 1, words[4] <= 1
            else {
                complain("invalid spec: size \(width)x\(height) (1...\(Self.maxSide)), resize 0/1, layout 0/1, order 0/1")
                return .invalidArgument
            }
            let resize: DecodedImage.Resize = words[2] == 0 ? .stretch : .shorterSideCenterCrop
            let layout: DecodedImage.Layout = words[3] == 0 ? .nhwc : .nchw
            let order: DecodedImage.ChannelOrder = words[4] == 0 ? .rgb : .bgr
            let type: DecodedImage.ElementType
            switch words[5] {
            case 1: type = .float32
            case 3: type = .uint8
            default:
                complain("tensor type \(words[5]) is not supported: use 1 (f32) or 3 (u8)")
                return .invalidArgument
            }
            let std = Array(floats[3..<6])
            guard std.allSatisfy({ $0 != 0 && $0.isFinite }), floats[0..<3].allSatisfy(\.isFinite) else {
                complain("mean and std must be finite and std non-zero")
                return .invalidArgument
            }
            let image: DecodedImage
            do throws(ImageError) {
                image = try DecodedImage.decode(Array(UnsafeRawBufferPointer(rebasing: memory[imageRange])), maxPixels: Self.maxPixels)
            } catch {
                complain(error.description)
                if case .tooLarge = error { return .tooLarge }
                return .invalidEncoding
            }
            let tensor: [UInt8]
            do throws(ImageError) {
                tensor = try image.tensor(width: Int(width), height: Int(height), resize: resize, layout: layout, order: order, type: type,
                                          mean: SIMD3(floats[0], floats[1], floats[2]), std: SIMD3(std[0], std[1], std[2]))
            } catch {
                complain(error.description)
                return .invalidArgument
            }
            guard tensor.count <= Int(a[4]) else {
                complain("the tensor is \(tensor.count) bytes; the buffer holds \(a[4])")
                return .tooLarge
            }
            guard let target = WASIHost.range(memory, a[3], tensor.count) else { return .invalidArgument }
            tensor.withUnsafeBytes { memory.baseAddress!.advanced(by: target.lowerBound).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            guard let written else { return .success }
            return WASIHost.store32(memory, written, UInt32(tensor.count)) == .success ? .success : .invalidArgument
        }
    }
}
