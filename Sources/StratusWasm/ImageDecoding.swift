import CStratusImage

/// Why an image could not be decoded or turned into a tensor. Every failure of
/// hostile input ends here; nothing in the decoder traps, prints or exits.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header declares `width` x `height`, more than `maxPixels`; refused after
    /// reading the header, before any pixel memory is allocated.
    case tooLarge(width: Int, height: Int, maxPixels: Int)
    /// Truncated or malformed JPEG/PNG data.
    case corrupt(String)
    /// Not a JPEG or PNG (by magic bytes), or a variant this decoder cannot handle.
    case unsupported(String)
    /// Bad caller arguments: sizes out of range, a buffer of the wrong size, a bad limit.
    case invalidArguments(String)
    /// A host allocation failed.
    case outOfMemory

    public var description: String {
        switch self {
        case let .tooLarge(width, height, maxPixels):
            "image is \(width)x\(height) (\(width * height) pixels), larger than the limit of \(maxPixels) pixels"
        case let .corrupt(message): "corrupt image: \(message)"
        case let .unsupported(message): "unsupported image: \(message)"
        case let .invalidArguments(message): "invalid arguments: \(message)"
        case .outOfMemory: "out of memory"
        }
    }
}

/// An image decoded to 8-bit RGB: `rgb` holds `width * height * 3` bytes, rows top to
/// bottom, no padding.
public struct DecodedImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let rgb: [UInt8]

    /// Container format, from the magic bytes.
    public enum Format: Sendable, Equatable { case jpeg, png }

    /// How the image is fitted to the tensor's width x height.
    public enum Resize: Sendable, Equatable {
        /// Scale each axis independently (aspect ratio not kept).
        case stretch
        /// Scale uniformly until the image covers the target, then take the centred window
        /// (the usual "resize shorter side + centre crop" of vision preprocessing).
        case shorterSideCenterCrop
    }

    /// Tensor memory layout (batch size 1).
    public enum Layout: Sendable, Equatable {
        /// `[1][height][width][3]`.
        case nhwc
        /// `[1][3][height][width]`.
        case nchw
    }

    /// Channel order within the tensor.
    public enum ChannelOrder: Sendable, Equatable { case rgb, bgr }

    /// Tensor element type.
    public enum ElementType: Sendable, Equatable {
        /// Rounded, clamped 0...255; `mean` and `std` are ignored.
        case uint8
        /// `(v - mean[c]) / std[c]` with v on the 0...255 scale, host byte order.
        case float32

        /// Bytes per element.
        public var byteWidth: Int {
            switch self {
            case .uint8: 1
            case .float32: 4
            }
        }
    }

    /// Wraps pixels that are already RGB (e.g. to build a tensor from them).
    public init(width: Int, height: Int, rgb: [UInt8]) throws(ImageError) {
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max),
            width.multipliedReportingOverflow(by: height * 3) == (rgb.count, false)
        else {
            throw .invalidArguments("\(rgb.count) bytes is not \(width)x\(height) RGB")
        }
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    private init(unchecked width: Int, height: Int, rgb: [UInt8]) {
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// Decodes a JPEG or PNG (chosen by magic bytes) to 8-bit RGB. Grayscale, CMYK,
    /// palette, 16-bit and alpha inputs are converted (alpha is dropped). Images whose
    /// header declares more than `maxPixels` pixels are refused with `.tooLarge` before
    /// any decoding.
    public static func decode(_ bytes: [UInt8], maxPixels: Int) throws(ImageError) -> DecodedImage {
        guard maxPixels > 0 else { throw .invalidArguments("maxPixels must be at least 1") }
        var image = stratus_image()
        var message = ErrorText()
        let status = bytes.withUnsafeBufferPointer { data in
            message.withBuffer { err, errlen in
                stratus_image_decode(data.baseAddress, data.count, UInt64(maxPixels), &image, err, errlen)
            }
        }
        defer { stratus_image_free(&image) }
        guard status == Int32(STRATUS_IMAGE_OK.rawValue) else {
            throw ImageError(status: status, message: message.string, width: image.width, height: image.height,
                             maxPixels: maxPixels)
        }
        let count = Int(image.width) * Int(image.height) * 3
        let pixels = image.pixels!
        let rgb = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            buffer.baseAddress!.update(from: pixels, count: count)
            initialized = count
        }
        return DecodedImage(unchecked: Int(image.width), height: Int(image.height), rgb: rgb)
    }

    /// Reads only the header: format and declared size, no pixel decoding.
    public static func probe(_ bytes: [UInt8]) throws(ImageError) -> (format: Format, width: Int, height: Int) {
        var width: UInt32 = 0
        var height: UInt32 = 0
        var format: Int32 = 0
        var message = ErrorText()
        let status = bytes.withUnsafeBufferPointer { data in
            message.withBuffer { err, errlen in
                stratus_image_probe(data.baseAddress, data.count, &width, &height, &format, err, errlen)
            }
        }
        guard status == Int32(STRATUS_IMAGE_OK.rawValue) else {
            throw ImageError(status: status, message: message.string, width: 0, height: 0, maxPixels: 0)
        }
        return (format == Int32(STRATUS_IMAGE_FORMAT_PNG.rawValue) ? .png : .jpeg, Int(width), Int(height))
    }

    /// Exact byte size of a `width` x `height` x 3 tensor, or nil if the size is out of
    /// range (each side must be 1...16384).
    public static func tensorByteCount(width: Int, height: Int, type: ElementType) -> Int? {
        guard let w = Int32(exactly: width), let h = Int32(exactly: height) else { return nil }
        let size = stratus_image_tensor_size(w, h, type.cValue)
        return size == 0 ? nil : size
    }

    /// Resamples into a model input tensor and returns its raw bytes (for `.float32`,
    /// host-order `Float`s). Resampling is area-aware bilinear: a triangle filter widened
    /// by the scale factor when downscaling (PIL `BILINEAR` / torchvision
    /// `antialias=True`), plain bilinear when upscaling. `mean` and `std` are indexed
    /// in the tensor's channel order and apply to `.float32` only.
    public func tensor(
        width: Int, height: Int, resize: Resize = .stretch, crop: Double = 1, layout: Layout = .nhwc, order: ChannelOrder = .rgb,
        type: ElementType = .float32, mean: SIMD3<Float> = .zero, std: SIMD3<Float> = .one
    ) throws(ImageError) -> [UInt8] {
        guard let count = Self.tensorByteCount(width: width, height: height, type: type) else {
            throw .invalidArguments("tensor size \(width)x\(height) out of range (1...16384 per side)")
        }
        var result: Result<Void, ImageError> = .success(())
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            result = Result { () throws(ImageError) in
                try writeTensor(
                    into: UnsafeMutableRawBufferPointer(buffer), width: width, height: height, resize: resize, crop: crop,
                    layout: layout, order: order, type: type, mean: mean, std: std)
            }
            initialized = (try? result.get()) == nil ? 0 : count
        }
        try result.get()
        return bytes
    }

    /// Like `tensor(...)` but writes straight into `buffer` (e.g. guest memory), whose
    /// size must be exactly `tensorByteCount(width:height:type:)`. Any alignment is fine. `crop`
    /// (0 < crop <= 1, `.shorterSideCenterCrop` only) keeps the central fraction of the window,
    /// cut in whole pixels (see `stratus_image_to_tensor_cropped`).
    public func writeTensor(
        into buffer: UnsafeMutableRawBufferPointer, width: Int, height: Int, resize: Resize = .stretch, crop: Double = 1,
        layout: Layout = .nhwc, order: ChannelOrder = .rgb, type: ElementType = .float32,
        mean: SIMD3<Float> = .zero, std: SIMD3<Float> = .one
    ) throws(ImageError) {
        guard let w = Int32(exactly: width), let h = Int32(exactly: height) else {
            throw .invalidArguments("tensor size \(width)x\(height) out of range")
        }
        let meanValues = [mean.x, mean.y, mean.z]
        let stdValues = [std.x, std.y, std.z]
        var message = ErrorText()
        let status = rgb.withUnsafeBufferPointer { pixels in
            var image = stratus_image(
                width: UInt32(self.width), height: UInt32(self.height),
                pixels: UnsafeMutablePointer(mutating: pixels.baseAddress), format: 0)
            return message.withBuffer { err, errlen in
                stratus_image_to_tensor_cropped(
                    &image, w, h, resize.cValue, crop, layout.cValue, order.cValue, type.cValue, meanValues, stdValues,
                    buffer.baseAddress, buffer.count, err, errlen)
            }
        }
        guard status == Int32(STRATUS_IMAGE_OK.rawValue) else {
            throw ImageError(status: status, message: message.string, width: 0, height: 0, maxPixels: 0)
        }
    }
}

/// Encoders for fixtures and tests.
enum ImageEncoding {
    /// JPEG-encodes 8-bit pixels: `components` 1 (gray), 3 (RGB) or 4 (CMYK, stored as-is
    /// with an Adobe marker).
    static func jpeg(
        _ pixels: [UInt8], width: Int, height: Int, components: Int = 3, quality: Int = 95, progressive: Bool = false
    ) throws(ImageError) -> [UInt8] {
        guard width > 0, height > 0, components > 0, pixels.count == width * height * components,
            let w = UInt32(exactly: width), let h = UInt32(exactly: height)
        else { throw .invalidArguments("pixel count does not match \(width)x\(height)x\(components)") }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        var message = ErrorText()
        let status = pixels.withUnsafeBufferPointer { data in
            message.withBuffer { err, errlen in
                stratus_image_encode_jpeg(
                    data.baseAddress, w, h, Int32(components), Int32(quality), progressive ? 1 : 0, &out, &length,
                    err, errlen)
            }
        }
        defer { stratus_image_buffer_free(out) }
        guard status == Int32(STRATUS_IMAGE_OK.rawValue), let out else {
            throw ImageError(status: status, message: message.string, width: 0, height: 0, maxPixels: 0)
        }
        return Array(UnsafeBufferPointer(start: out, count: length))
    }
}

// MARK: - C bridging

/// A fixed buffer for the C functions' error messages.
private struct ErrorText {
    var bytes = [CChar](repeating: 0, count: 320)

    mutating func withBuffer<R>(_ body: (UnsafeMutablePointer<CChar>, Int) -> R) -> R {
        bytes.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    }

    var string: String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ImageError {
    fileprivate init(status: Int32, message: String, width: UInt32, height: UInt32, maxPixels: Int) {
        switch UInt32(bitPattern: status) {
        case STRATUS_IMAGE_ETOOLARGE.rawValue:
            self = .tooLarge(width: Int(width), height: Int(height), maxPixels: maxPixels)
        case STRATUS_IMAGE_ECORRUPT.rawValue: self = .corrupt(message)
        case STRATUS_IMAGE_EUNSUPPORTED.rawValue: self = .unsupported(message)
        case STRATUS_IMAGE_ENOMEM.rawValue: self = .outOfMemory
        default: self = .invalidArguments(message)  // EINVAL, EBUFSIZE
        }
    }
}

extension DecodedImage.Resize {
    fileprivate var cValue: Int32 {
        switch self {
        case .stretch: Int32(STRATUS_IMAGE_RESIZE_STRETCH.rawValue)
        case .shorterSideCenterCrop: Int32(STRATUS_IMAGE_RESIZE_SHORTER_SIDE_CENTER_CROP.rawValue)
        }
    }
}

extension DecodedImage.Layout {
    fileprivate var cValue: Int32 {
        switch self {
        case .nhwc: Int32(STRATUS_IMAGE_LAYOUT_NHWC.rawValue)
        case .nchw: Int32(STRATUS_IMAGE_LAYOUT_NCHW.rawValue)
        }
    }
}

extension DecodedImage.ChannelOrder {
    fileprivate var cValue: Int32 {
        switch self {
        case .rgb: Int32(STRATUS_IMAGE_ORDER_RGB.rawValue)
        case .bgr: Int32(STRATUS_IMAGE_ORDER_BGR.rawValue)
        }
    }
}

extension DecodedImage.ElementType {
    fileprivate var cValue: Int32 {
        switch self {
        case .uint8: Int32(STRATUS_IMAGE_ELEMENT_U8.rawValue)
        case .float32: Int32(STRATUS_IMAGE_ELEMENT_F32.rawValue)
        }
    }
}
