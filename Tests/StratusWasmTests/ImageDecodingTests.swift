import StratusModel
import StratusTestSupport
import Testing
@testable import StratusWasm

/// Decoding and tensor preparation for image host functions. Test images are built in
/// memory: PNGs by a hand-written encoder below (zlib stored blocks, CRC-32, Adler-32;
/// independent of libpng), JPEGs through libjpeg via `ImageEncoding.jpeg`.
struct ImageDecodingTests {
    let limit = 50_000_000

    // MARK: PNG

    @Test func pngRGBIsExact() throws {
        let pixels: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3, 250, 128, 7, 40, 50, 60]
        let png = TestPNG.make(width: 3, height: 2, colorType: 2, bitDepth: 8, pixels: pixels)
        let image = try DecodedImage.decode(png, maxPixels: limit)
        #expect(image.width == 3 && image.height == 2)
        #expect(image.rgb == pixels)
        let header = try DecodedImage.probe(png)
        #expect(header.format == .png && header.width == 3 && header.height == 2)
    }

    @Test func pngGrayscaleIsReplicated() throws {
        let png = TestPNG.make(width: 4, height: 1, colorType: 0, bitDepth: 8, pixels: [0, 17, 200, 255])
        let image = try DecodedImage.decode(png, maxPixels: limit)
        #expect(image.rgb == [0, 0, 0, 17, 17, 17, 200, 200, 200, 255, 255, 255])
    }

    @Test func pngOneBitGrayscaleIsExpanded() throws {
        // 8 pixels 1,0,1,1,0,0,0,1 packed MSB first.
        let png = TestPNG.make(width: 8, height: 1, colorType: 0, bitDepth: 1, pixels: [0b1011_0001])
        let image = try DecodedImage.decode(png, maxPixels: limit)
        let gray = stride(from: 0, to: image.rgb.count, by: 3).map { image.rgb[$0] }
        #expect(gray == [255, 0, 255, 255, 0, 0, 0, 255])
    }

    @Test func pngRGBAAlphaIsDroppedColourKept() throws {
        let pixels: [UInt8] = [10, 20, 30, 255, 200, 100, 50, 0, 1, 2, 3, 128]
        let png = TestPNG.make(width: 3, height: 1, colorType: 6, bitDepth: 8, pixels: pixels)
        let image = try DecodedImage.decode(png, maxPixels: limit)
        #expect(image.rgb == [10, 20, 30, 200, 100, 50, 1, 2, 3])
    }

    @Test func pngGrayAlpha() throws {
        let png = TestPNG.make(width: 2, height: 1, colorType: 4, bitDepth: 8, pixels: [90, 0, 180, 255])
        let image = try DecodedImage.decode(png, maxPixels: limit)
        #expect(image.rgb == [90, 90, 90, 180, 180, 180])
    }

    @Test func pngPaletteWithTransparency() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 0, 255, 9, 8, 7]
        let png = TestPNG.make(
            width: 4, height: 1, colorType: 3, bitDepth: 8, pixels: [0, 1, 2, 1], palette: palette, trns: [0, 255])
        let image = try DecodedImage.decode(png, maxPixels: limit)
        #expect(image.rgb == [255, 0, 0, 0, 0, 255, 9, 8, 7, 0, 0, 255])
    }

    @Test func png16BitIsScaledTo8() throws {
        // Big-endian samples: 0xFFFF, 0x0000, 0x8080 | 0x1234, 0xFF00, 0x0101
        let pixels: [UInt8] = [0xFF, 0xFF, 0, 0, 0x80, 0x80, 0x12, 0x34, 0xFF, 0x00, 0x01, 0x01]
        let png = TestPNG.make(width: 2, height: 1, colorType: 2, bitDepth: 16, pixels: pixels)
        let image = try DecodedImage.decode(png, maxPixels: limit)
        #expect(image.rgb == [255, 0, 128, 18, 254, 1])
    }

    @Test func pngWithBadIDATChecksumIsCorrupt() throws {
        var png = TestPNG.make(width: 2, height: 2, colorType: 2, bitDepth: 8, pixels: Array(repeating: 9, count: 12))
        let idat = try #require(TestPNG.chunkOffset(png, type: "IDAT"))
        png[idat + 8 + 2 + 5 + 2] ^= 0x40  // a pixel byte in the stored block: CRC and Adler-32 now wrong
        #expect(throws: ImageError.self) { try DecodedImage.decode(png, maxPixels: limit) }
        do {
            _ = try DecodedImage.decode(png, maxPixels: limit)
        } catch {
            guard case .corrupt(let message) = error else { Issue.record("expected corrupt, got \(error)"); return }
            #expect(message.contains("CRC") || message.contains("check"), "\(message)")
        }
    }

    @Test func truncatedPNGIsCorrupt() throws {
        let pixels = (0..<(40 * 30 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let png = TestPNG.make(width: 40, height: 30, colorType: 2, bitDepth: 8, pixels: pixels)
        for cut in [png.count / 2, png.count - 20, 40] {
            #expect(throws: ImageError.self) { try DecodedImage.decode(Array(png.prefix(cut)), maxPixels: limit) }
            do {
                _ = try DecodedImage.decode(Array(png.prefix(cut)), maxPixels: limit)
            } catch {
                guard case .corrupt = error else { Issue.record("cut \(cut): expected corrupt, got \(error)"); continue }
            }
        }
        // Only IEND missing: the pixels are complete and accepted.
        let image = try DecodedImage.decode(Array(png.prefix(png.count - 12)), maxPixels: limit)
        #expect(image.rgb == pixels)
    }

    // MARK: JPEG

    /// 64x64: four flat 32x32 quadrants, red / green / blue / grey.
    static let quadrants: [UInt8] = {
        var p = [UInt8]()
        for y in 0..<64 {
            for x in 0..<64 {
                switch (x < 32, y < 32) {
                case (true, true): p += [220, 30, 30]
                case (false, true): p += [30, 200, 40]
                case (true, false): p += [20, 40, 210]
                case (false, false): p += [128, 128, 128]
                }
            }
        }
        return p
    }()

    func pixel(_ image: DecodedImage, _ x: Int, _ y: Int) -> [Int] {
        let i = (y * image.width + x) * 3
        return image.rgb[i..<i + 3].map(Int.init)
    }

    func expectClose(_ a: [Int], _ b: [Int], tolerance: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }, "\(a) vs \(b)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [false, true]) func jpegRGBDecodesWithinTolerance(progressive: Bool) throws {
        let jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 95, progressive: progressive)
        let image = try DecodedImage.decode(jpeg, maxPixels: limit)
        #expect(image.width == 64 && image.height == 64)
        expectClose(pixel(image, 16, 16), [220, 30, 30], tolerance: 6)
        expectClose(pixel(image, 48, 16), [30, 200, 40], tolerance: 6)
        expectClose(pixel(image, 16, 48), [20, 40, 210], tolerance: 6)
        expectClose(pixel(image, 48, 48), [128, 128, 128], tolerance: 6)
        let header = try DecodedImage.probe(jpeg)
        #expect(header.format == .jpeg && header.width == 64 && header.height == 64)
    }

    @Test func jpegGrayscaleIsReplicated() throws {
        let gray = (0..<(32 * 16)).map { i in UInt8((i % 32) * 8) }
        let jpeg = try ImageEncoding.jpeg(gray, width: 32, height: 16, components: 1, quality: 100)
        let image = try DecodedImage.decode(jpeg, maxPixels: limit)
        for (x, y) in [(0, 0), (13, 7), (31, 15)] {
            let p = pixel(image, x, y)
            #expect(p[0] == p[1] && p[1] == p[2])
            #expect(abs(p[0] - x * 8) <= 4)
        }
    }

    @Test func jpegAdobeCMYKIsConvertedToRGB() throws {
        // Photoshop-style inverted CMYK: stored = 255 - ink. Left half pure red ink
        // (M + Y), right half 50% K only.
        var cmyk = [UInt8]()
        for _ in 0..<16 {
            for x in 0..<32 { cmyk += x < 16 ? [255, 0, 0, 255] : [255, 255, 255, 128] }
        }
        let jpeg = try ImageEncoding.jpeg(cmyk, width: 32, height: 16, components: 4, quality: 100)
        let image = try DecodedImage.decode(jpeg, maxPixels: limit)
        expectClose(pixel(image, 4, 8), [255, 0, 0], tolerance: 4)
        expectClose(pixel(image, 28, 8), [128, 128, 128], tolerance: 4)
    }

    @Test func truncatedJPEGIsCorrupt() throws {
        let jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 90)
        for cut in [jpeg.count / 2, jpeg.count * 3 / 4, jpeg.count - 40] {
            do {
                _ = try DecodedImage.decode(Array(jpeg.prefix(cut)), maxPixels: limit)
                Issue.record("a JPEG cut at \(cut) of \(jpeg.count) bytes must be refused")
            } catch {
                guard case .corrupt(let message) = error else { Issue.record("expected corrupt, got \(error)"); continue }
                #expect(!message.isEmpty)
            }
        }
        // A header-only prefix, too.
        #expect(throws: ImageError.self) { try DecodedImage.decode(Array(jpeg.prefix(20)), maxPixels: limit) }
    }

    @Test func progressiveJPEGWithTooManyScansIsRefused() throws {
        let jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 80, progressive: true)
        // Repeat the final scan (SOS segment + entropy data, up to EOI) 300 times.
        let lastSOS = try #require((0..<(jpeg.count - 1)).last { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA })
        let scan = Array(jpeg[lastSOS..<(jpeg.count - 2)])
        var bomb = Array(jpeg.prefix(jpeg.count - 2))
        for _ in 0..<300 { bomb += scan }
        bomb += [0xFF, 0xD9]
        #expect(throws: ImageError.self) { try DecodedImage.decode(bomb, maxPixels: limit) }
        do {
            _ = try DecodedImage.decode(bomb, maxPixels: limit)
        } catch {
            guard case .corrupt(let message) = error else { Issue.record("expected corrupt, got \(error)"); return }
            #expect(message.contains("scans"), "\(message)")
        }
        // A few repeats are only a (silenced) warning.
        var mild = Array(jpeg.prefix(jpeg.count - 2))
        for _ in 0..<3 { mild += scan }
        mild += [0xFF, 0xD9]
        #expect(try DecodedImage.decode(mild, maxPixels: limit).width == 64)
    }

    @Test func everyPrefixFailsCleanly() throws {
        let jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 80, progressive: true)
        let png = TestPNG.make(width: 64, height: 64, colorType: 2, bitDepth: 8, pixels: Self.quadrants)
        for data in [jpeg, png] {
            for cut in 0..<(data.count - 12) {
                #expect(throws: ImageError.self) { try DecodedImage.decode(Array(data.prefix(cut)), maxPixels: limit) }
            }
        }
    }

    @Test func mutatedInputsNeverCrash() throws {
        var rng = SplitMix64(seed: 42)
        let jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 80)
        let progressive = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 80, progressive: true)
        let png = TestPNG.make(width: 64, height: 64, colorType: 2, bitDepth: 8, pixels: Self.quadrants)
        for base in [jpeg, progressive, png] {
            for _ in 0..<300 {
                var data = base
                for _ in 0..<(1 + Int(rng.next() % 8)) {
                    let at = 2 + Int(rng.next() % UInt64(data.count - 2))  // keep the magic bytes
                    data[at] = UInt8(truncatingIfNeeded: rng.next())
                }
                if let image = try? DecodedImage.decode(data, maxPixels: 1 << 20) {
                    #expect(image.rgb.count == image.width * image.height * 3)
                    _ = try image.tensor(width: 8, height: 8)
                }
            }
        }
    }

    // MARK: Refusals

    @Test func randomBytesAreUnsupported() {
        var rng = SplitMix64(seed: 7)
        let noise = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for data in [noise, [], Array("GIF89a....".utf8), [0xFF, 0xD8]] {
            do {
                _ = try DecodedImage.decode(data, maxPixels: limit)
                Issue.record("random bytes must be refused")
            } catch {
                guard case .unsupported = error else { Issue.record("expected unsupported, got \(error)"); continue }
            }
        }
    }

    @Test func garbageAfterMagicIsCorrupt() {
        var rng = SplitMix64(seed: 9)
        for magic: [UInt8] in [[0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]] {
            let data = magic + (0..<2000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(throws: ImageError.self) { try DecodedImage.decode(data, maxPixels: limit) }
        }
    }

    @Test func jpegHeaderClaiming10000x10000IsTooLargeWithoutDecoding() throws {
        var jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 80)
        // SOF0: FF C0, length(2), precision(1), height(2), width(2).
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x27, 0x10, 0x27, 0x10])  // 10000, 10000
        let header = try DecodedImage.probe(jpeg)
        #expect(header.width == 10000 && header.height == 10000)
        let started = ContinuousClock.now
        #expect(throws: ImageError.tooLarge(width: 10000, height: 10000, maxPixels: limit)) {
            try DecodedImage.decode(jpeg, maxPixels: limit)
        }
        #expect(ContinuousClock.now - started < .milliseconds(200))  // a full decode would take seconds
    }

    @Test func pngHeaderClaiming10000x10000IsTooLargeWithoutDecoding() throws {
        // Signature + IHDR only: nothing to decode at all.
        let png = TestPNG.make(width: 10000, height: 10000, colorType: 2, bitDepth: 8, pixels: nil)
        #expect(throws: ImageError.tooLarge(width: 10000, height: 10000, maxPixels: limit)) {
            try DecodedImage.decode(png, maxPixels: limit)
        }
        #expect(ImageError.tooLarge(width: 10000, height: 10000, maxPixels: limit).description.contains("10000x10000"))
    }

    @Test func limitIsInclusive() throws {
        let png = TestPNG.make(width: 3, height: 2, colorType: 2, bitDepth: 8, pixels: Array(repeating: 5, count: 18))
        #expect(try DecodedImage.decode(png, maxPixels: 6).width == 3)
        #expect(throws: ImageError.tooLarge(width: 3, height: 2, maxPixels: 5)) {
            try DecodedImage.decode(png, maxPixels: 5)
        }
        #expect(throws: ImageError.self) { try DecodedImage.decode(png, maxPixels: 0) }
    }

    // MARK: Tensors

    /// 2x2: (1,2,3) (4,5,6) / (7,8,9) (10,11,12).
    let tiny = try! DecodedImage(width: 2, height: 2, rgb: Array(1...12))

    @Test func identityResizeNHWCAndNCHW() throws {
        #expect(try tiny.tensor(width: 2, height: 2, layout: .nhwc, type: .uint8) == Array(1...12))
        #expect(
            try tiny.tensor(width: 2, height: 2, layout: .nchw, type: .uint8) == [1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12])
        #expect(
            try tiny.tensor(width: 2, height: 2, layout: .nhwc, order: .bgr, type: .uint8)
                == [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10])
        #expect(
            try tiny.tensor(width: 2, height: 2, layout: .nchw, order: .bgr, type: .uint8)
                == [3, 6, 9, 12, 2, 5, 8, 11, 1, 4, 7, 10])
    }

    @Test func float32NormalisationUsesOutputChannelOrder() throws {
        let mean = SIMD3<Float>(1, 2, 3)
        let std = SIMD3<Float>(2, 4, 8)
        let rgb = floats(try tiny.tensor(width: 2, height: 2, layout: .nchw, type: .float32, mean: mean, std: std))
        // Plane R: (1,4,7,10 - 1) / 2; plane G: (2,5,8,11 - 2) / 4; plane B: (3,6,9,12 - 3) / 8.
        #expect(rgb == [0, 1.5, 3, 4.5, 0, 0.75, 1.5, 2.25, 0, 0.375, 0.75, 1.125])
        let bgr = floats(try tiny.tensor(width: 2, height: 2, layout: .nhwc, order: .bgr, type: .float32,
                                         mean: mean, std: std))
        // Pixel 0 = (B 3, G 2, R 1): (3 - 1) / 2, (2 - 2) / 4, (1 - 3) / 8.
        #expect(Array(bgr.prefix(3)) == [1, 0, -0.25])
        let unit = floats(try tiny.tensor(width: 2, height: 2, type: .float32, std: SIMD3(repeating: 255)))
        #expect(abs(unit[11] - 12 / 255) < 1e-6)
    }

    @Test func downscalingAveragesInsteadOfAliasing() throws {
        // 1-pixel black/white checkerboard, 200x200 -> 10x10: area-aware filtering gives
        // mid grey everywhere; point-sampled bilinear would give 0 or 255.
        var rgb = [UInt8]()
        for y in 0..<200 { for x in 0..<200 { rgb += Array(repeating: (x + y) % 2 == 0 ? 255 : 0, count: 3) } }
        let image = try DecodedImage(width: 200, height: 200, rgb: rgb)
        let t = try image.tensor(width: 10, height: 10, type: .uint8)
        #expect(t.allSatisfy { (125...130).contains($0) }, "\(t.min()!)...\(t.max()!)")
    }

    @Test func flatImageStaysFlatAtAnySize() throws {
        let image = try DecodedImage(width: 37, height: 23, rgb: Array(repeating: [200, 100, 50], count: 37 * 23).flatMap { $0 })
        for (w, h) in [(224, 224), (5, 3), (37, 23), (1, 1), (300, 7)] {
            for resize in [DecodedImage.Resize.stretch, .shorterSideCenterCrop] {
                let t = floats(try image.tensor(width: w, height: h, resize: resize))
                #expect(t.count == w * h * 3)
                #expect(stride(from: 0, to: t.count, by: 3).allSatisfy {
                    abs(t[$0] - 200) < 1e-3 && abs(t[$0 + 1] - 100) < 1e-3 && abs(t[$0 + 2] - 50) < 1e-3
                })
            }
        }
    }

    @Test func centerCropKeepsTheMiddle() throws {
        // 300x100: red | green | blue thirds.
        var rgb = [UInt8]()
        for _ in 0..<100 {
            for x in 0..<300 { rgb += x < 100 ? [255, 0, 0] : x < 200 ? [0, 255, 0] : [0, 0, 255] }
        }
        let image = try DecodedImage(width: 300, height: 100, rgb: rgb)
        let crop = try image.tensor(width: 50, height: 50, resize: .shorterSideCenterCrop, type: .uint8)
        for x in 1..<49 {  // the outermost columns may pick up a little of the neighbours
            #expect(Array(crop[(25 * 50 + x) * 3..<(25 * 50 + x) * 3 + 3]) == [0, 255, 0])
        }
        let stretched = try image.tensor(width: 30, height: 10, resize: .stretch, type: .uint8)
        #expect(Array(stretched[(5 * 30 + 5) * 3..<(5 * 30 + 5) * 3 + 3]) == [255, 0, 0])
        #expect(Array(stretched[(5 * 30 + 25) * 3..<(5 * 30 + 25) * 3 + 3]) == [0, 0, 255])
    }

    @Test func upscalingIsBilinear() throws {
        // 2x1 (0 | 255) -> 4x1: source centres at 0.5 and 1.5; output centres 0.25, 0.75,
        // 1.25, 1.75 -> 0, 63.75, 191.25, 255 (edges clamp), rounded to 8 bits as Pillow does.
        let image = try DecodedImage(width: 2, height: 1, rgb: [0, 0, 0, 255, 255, 255])
        let t = floats(try image.tensor(width: 4, height: 1))
        #expect(stride(from: 0, to: 12, by: 3).map { t[$0] } == [0, 64, 191, 255])
    }

    /// The guest's spec word: mode low, crop fraction high; anything else is refused.
    @Test func theResizeWordCarriesTheCropFraction() {
        #expect(ImageHost.resizing(0)?.crop == 1 && ImageHost.resizing(0)?.0 == .stretch)
        #expect(ImageHost.resizing(1)?.crop == 1 && ImageHost.resizing(1)?.0 == .shorterSideCenterCrop)
        #expect(ImageHost.resizing(1 | 8750 << 16)?.crop == 0.875)
        #expect(ImageHost.resizing(1 | 10_000 << 16)?.crop == 1)
        #expect(ImageHost.resizing(2) == nil, "unknown mode")
        #expect(ImageHost.resizing(1 | 10_001 << 16) == nil, "more than all of it")
        #expect(ImageHost.resizing(0 | 8750 << 16) == nil, "a crop with stretch")
    }

    @Test func aCropFractionKeepsTheCentreInWholePixels() throws {
        // 320x256: a 16-pixel red frame around a green 288x224 middle... of which the centred
        // square's central 87.5 % (trunc(0.875 * 256) = 224 pixels, from (48, 16)) is all green.
        var rgb = [UInt8](repeating: 0, count: 320 * 256 * 3)
        for y in 0..<256 {
            for x in 0..<320 {
                let inside = (16..<240).contains(y) && (16..<304).contains(x)
                rgb[(y * 320 + x) * 3 + (inside ? 1 : 0)] = 255
            }
        }
        let image = try DecodedImage(width: 320, height: 256, rgb: rgb)
        let cropped = try image.tensor(width: 224, height: 224, resize: .shorterSideCenterCrop, crop: 0.875, type: .uint8)
        #expect(stride(from: 0, to: cropped.count, by: 3).allSatisfy { cropped[$0] == 0 && cropped[$0 + 1] == 255 }, "no red left")
        let whole = try image.tensor(width: 224, height: 224, resize: .shorterSideCenterCrop, type: .uint8)
        #expect(whole[0] > 200, "without a crop fraction the frame shows at the top")
        #expect(throws: ImageError.self) { try image.tensor(width: 224, height: 224, resize: .stretch, crop: 0.875) }
        #expect(throws: ImageError.self) { try image.tensor(width: 224, height: 224, resize: .shorterSideCenterCrop, crop: 0) }
    }

    @Test func wrongOutputSizeIsInvalidArguments() throws {
        let needed = try #require(DecodedImage.tensorByteCount(width: 4, height: 4, type: .float32))
        #expect(needed == 4 * 4 * 3 * 4)
        for size in [needed - 1, needed + 1, 0] {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 1)
            defer { buffer.deallocate() }
            do {
                try tiny.writeTensor(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size]), width: 4,
                                     height: 4)
                Issue.record("a \(size)-byte buffer must be refused")
            } catch {
                guard case .invalidArguments(let message) = error else {
                    Issue.record("expected invalidArguments, got \(error)")
                    continue
                }
                #expect(message.contains("\(needed)"))
            }
        }
        // Exact size, odd alignment: fine.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: needed + 1, alignment: 16)
        defer { buffer.deallocate() }
        try tiny.writeTensor(into: UnsafeMutableRawBufferPointer(rebasing: buffer[1...]), width: 4, height: 4)
        #expect(throws: ImageError.self) { try tiny.tensor(width: 0, height: 4) }
        #expect(throws: ImageError.self) { try tiny.tensor(width: 20000, height: 4) }
        #expect(throws: ImageError.self) { try tiny.tensor(width: 4, height: 4, std: SIMD3(1, 0, 1)) }
        #expect(throws: ImageError.self) { try DecodedImage(width: 2, height: 2, rgb: [1, 2, 3]) }
    }

    @Test func decodedJPEGToModelTensor() throws {
        let jpeg = try ImageEncoding.jpeg(Self.quadrants, width: 64, height: 64, quality: 95)
        let image = try DecodedImage.decode(jpeg, maxPixels: limit)
        let mean = SIMD3<Float>(0.485, 0.456, 0.406) * 255
        let std = SIMD3<Float>(0.229, 0.224, 0.225) * 255
        let t = floats(try image.tensor(width: 224, height: 224, resize: .shorterSideCenterCrop, layout: .nchw,
                                        mean: mean, std: std))
        #expect(t.count == 3 * 224 * 224)
        // Top-left quadrant is red (220, 30, 30): R plane high, G plane low.
        let r = t[56 * 224 + 56], g = t[224 * 224 + 56 * 224 + 56]
        #expect(abs(r - (220 / 255 - 0.485) / 0.229) < 0.1)
        #expect(abs(g - (30 / 255 - 0.456) / 0.224) < 0.1)
    }

    func floats(_ bytes: [UInt8]) -> [Float] {
        bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// A minimal PNG writer: filter type 0 on every row, zlib stored (uncompressed) blocks.
enum TestPNG {
    /// `pixels` are the raw samples of all rows, packed as PNG stores them (big-endian
    /// 16-bit, MSB-first sub-byte); nil writes no IDAT at all.
    static func make(
        width: Int, height: Int, colorType: UInt8, bitDepth: UInt8, pixels: [UInt8]?, palette: [UInt8]? = nil,
        trns: [UInt8]? = nil
    ) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", be32(width) + be32(height) + [bitDepth, colorType, 0, 0, 0])
        if let palette { png += chunk("PLTE", palette) }
        if let trns { png += chunk("tRNS", trns) }
        if let pixels {
            let rowBytes = pixels.count / height
            var raw = [UInt8]()
            for y in 0..<height { raw += [0] + pixels[(y * rowBytes)..<((y + 1) * rowBytes)] }
            png += chunk("IDAT", zlibStored(raw))
        }
        png += chunk("IEND", [])
        return png
    }

    static func chunkOffset(_ png: [UInt8], type: String) -> Int? {
        var at = 8
        while at + 8 <= png.count {
            let length = Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3])
            if Array(png[(at + 4)..<(at + 8)]) == Array(type.utf8) { return at }
            at += 12 + length
        }
        return nil
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(data.count) + body + be32(Int(crc32(body)))
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + be32(Int(b << 16 | a))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func be32(_ v: Int) -> [UInt8] {
        [UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// WasmEdge's image plugin imports (`wasmedge_image.load_jpg` …) run unchanged: a C guest written
/// against them gets the resized pixels, 1 for a buffer too small or bytes that are not an image.
@Suite struct WasmEdgeImageCompatibilityTests {
    @Test(arguments: WasmEngineKind.allCases) func loadJpgResizesIntoGuestMemory(engine: WasmEngineKind) async throws {
        let runtime = WasmRuntime(threads: 1)
        let bytes = try WasmFixtures.bytes("wasmedge_image")
        let module = try runtime.prepare(digest: Digest(hashBytes: Array(repeating: 7, count: 32)), bytes: bytes)
        #expect(module.usesHostWork)
        var settings = FunctionSettings(timeout: 10)
        settings.wasmEngine = engine
        let function = try await runtime.load(module, settings: settings)
        #expect(function.engine == engine)
        // A flat orange 16x16 JPEG: every resized pixel is (about) the same colour.
        let pixels = [UInt8](repeating: 0, count: 16 * 16 * 3).enumerated().map { index, _ in [UInt8(240), 120, 20][index % 3] }
        let jpeg = try ImageEncoding.jpeg(pixels, width: 16, height: 16)
        let result = await runtime.run(function, request: GuestRequest(stdin: jpeg, environment: [], arguments: ["t"]))
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(lines)")
        let rgb = lines[0].split(separator: " ").dropFirst(2).compactMap { Int($0) }
        #expect(lines[0].hasPrefix("rgb8 0:"))
        #expect(rgb.count == 12)
        for (index, value) in rgb.enumerated() { #expect(abs(value - [240, 120, 20][index % 3]) <= 3, "\(rgb)") }
        #expect(lines[1].hasPrefix("rgb32f 0: 0.9"), "f32 is value / 255: \(lines[1])")
        #expect(lines[2] == "small 1")
        #expect(lines[3] == "garbage 1")
    }
}
