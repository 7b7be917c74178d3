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
    /// Largest image decoded: 40 megapixels (a 50-megapixel image is refused before it is decoded).
    static let maxPixels = 40_000_000
    /// Largest tensor side a guest may ask for.
    static let maxSide: UInt32 = 4096

    func define(for module: Module, store: Store, into imports: inout Imports) {
        for entry in module.imports where entry.module == Self.moduleName {
            guard case .function = entry.descriptor, let type = Self.signatures[entry.name] else { continue }
            imports.define(module: entry.module, name: entry.name,
                           Function(store: store, parameters: type.parameters, results: type.results) { _, a in
                               [.i32(toTensor(a.map(\.i32)).rawValue)]
                           })
        }
    }

    private func complain(_ text: String) {
        io.stderr.append(contentsOf: Array("stratus_image: \(text)\n".utf8))
    }

    func toTensor(_ a: [UInt32]) -> NNErrno {
        guard let memory = memoryBox.memory else { return .missingMemory }
        return memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) { memory in
            guard let imageRange = WASIHost.range(memory, a[0], Int(a[1])), WASIHost.range(memory, a[2], 48) != nil,
                WASIHost.range(memory, a[5], 4) != nil
            else { return .invalidArgument }
            var words: [UInt32] = []
            for index in 0..<6 { words.append(WASIHost.load32(memory, a[2] &+ UInt32(index * 4)) ?? 0) }
            var floats: [Float] = []
            for index in 0..<6 { floats.append(Float(bitPattern: WASIHost.load32(memory, a[2] &+ UInt32(24 + index * 4)) ?? 0)) }
            let (width, height) = (words[0], words[1])
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
            return WASIHost.store32(memory, a[5], UInt32(tensor.count)) == .success ? .success : .invalidArgument
        }
    }
}
