// Stratus's inference backend called directly, without Wasm or HTTP: decode + preprocess (the
// stratus_image path) + EfficientNet-Lite0 on ONNX Runtime, and inference alone. Prints median
// milliseconds. Usage: stratus-inference-bench MODEL.onnx PHOTO.jpg [--iterations N]
import Foundation
import StratusInference
import StratusModel
import StratusWasm

@main
enum InferenceBench {
    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    static func main() throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard arguments.count >= 2 else {
            print("usage: stratus-inference-bench MODEL.onnx PHOTO.jpg [--iterations N]")
            return
        }
        let iterations = arguments.firstIndex(of: "--iterations").flatMap { Int(arguments[$0 + 1]) } ?? 50
        let model = [UInt8](try Data(contentsOf: URL(fileURLWithPath: arguments[0])))
        let photo = [UInt8](try Data(contentsOf: URL(fileURLWithPath: arguments[1])))
        guard let library = ONNXRuntimeBackend.findLibrary() else { print("no ONNX Runtime library (make setup-models)"); return }
        let backend = try ONNXRuntimeBackend(libraryPath: library)
        var clock = ContinuousClock.now
        let graph = try backend.model(digest: Digest(hashBytes: Array(repeating: 1, count: 32)), bytes: model)
        let load = clock.duration(to: .now)
        func tensor() throws -> Tensor {
            let image = try DecodedImage.decode(photo, maxPixels: 40_000_000)
            let data = try image.tensor(width: 224, height: 224, resize: .shorterSideCenterCrop, layout: .nchw, order: .rgb, type: .float32,
                                        mean: SIMD3(repeating: 127), std: SIMD3(repeating: 128))
            return Tensor(type: .float32, shape: [1, 3, 224, 224], data: data)
        }
        let input = try tensor()
        clock = .now
        _ = try graph.run([input])
        let first = clock.duration(to: .now)
        var full: [Double] = [], bare: [Double] = []
        for _ in 0..<iterations {
            clock = .now
            _ = try graph.run([try tensor()])
            full.append(clock.duration(to: .now).seconds * 1000)
            clock = .now
            _ = try graph.run([input])
            bare.append(clock.duration(to: .now).seconds * 1000)
        }
        func ms(_ d: Duration) -> Double { d.seconds * 1000 }
        print(String(format: "backend  model load %.1f ms   first run %.2f ms   decode+preprocess+infer median %.2f ms   infer median %.2f ms",
                     ms(load), ms(first), median(full), median(bare)))
    }
}
