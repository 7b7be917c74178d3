import Foundation
import StratusInference
import StratusModel
import Testing

// Tests against the real ONNX Runtime library, found the way Stratus finds it (STRATUS_ONNXRUNTIME,
// else .cache/onnxruntime/lib/ from scripts/setup-models.sh); they are skipped when it is absent.
//
// The models are tiny ONNX files embedded as base64 so that no Python is needed here. They were
// made once with onnx 1.17 (opset 13, IR version 7) by this script:
//
//     import base64, numpy as np, onnx
//     from onnx import TensorProto as T, helper as h, numpy_helper as nh
//     def model(name, nodes, inputs, outputs, inits=()):
//         g = h.make_graph(nodes, name, inputs, outputs, list(inits))
//         m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="")
//         m.ir_version = 7
//         onnx.checker.check_model(m, full_check=True)
//         return m.SerializeToString()
//     vi = h.make_tensor_value_info
//     models = {
//         # y = x * 2 + 1, float32 [1, 4]
//         "affine": model("affine",
//             [h.make_node("Mul", ["x", "two"], ["t"]), h.make_node("Add", ["t", "one"], ["y"])],
//             [vi("x", T.FLOAT, [1, 4])], [vi("y", T.FLOAT, [1, 4])],
//             [nh.from_array(np.array(2, np.float32), "two"), nh.from_array(np.array(1, np.float32), "one")]),
//         # y = x * 3 - 5, int64 [2, 3]
//         "int64": model("int64",
//             [h.make_node("Mul", ["x", "three"], ["t"]), h.make_node("Sub", ["t", "five"], ["y"])],
//             [vi("x", T.INT64, [2, 3])], [vi("y", T.INT64, [2, 3])],
//             [nh.from_array(np.array(3, np.int64), "three"), nh.from_array(np.array(5, np.int64), "five")]),
//         # relu = Relu(x) [batch, 3]; sum = ReduceSum(x, axis 1) [batch]
//         "batch": model("batch",
//             [h.make_node("Relu", ["x"], ["relu"]), h.make_node("ReduceSum", ["x", "axes"], ["sum"], keepdims=0)],
//             [vi("x", T.FLOAT, ["batch", 3])], [vi("relu", T.FLOAT, ["batch", 3]), vi("sum", T.FLOAT, ["batch"])],
//             [nh.from_array(np.array([1], np.int64), "axes")]),
//         # d = a - b, float64 [3]: two inputs, order matters
//         "diff": model("diff", [h.make_node("Sub", ["a", "b"], ["d"])],
//             [vi("a", T.DOUBLE, [3]), vi("b", T.DOUBLE, [3])], [vi("d", T.DOUBLE, [3])]),
//         # h = Cast<float16>(x), uint8 [4] -> float16 [4]
//         "half": model("half", [h.make_node("Cast", ["x"], ["h"], to=T.FLOAT16)],
//             [vi("x", T.UINT8, [4])], [vi("h", T.FLOAT16, [4])]),
//         # n = Not(x), bool [2]: a type Stratus does not support
//         "bool": model("bool", [h.make_node("Not", ["x"], ["n"])],
//             [vi("x", T.BOOL, [2])], [vi("n", T.BOOL, [2])]),
//     }
//     for name, data in models.items():
//         print(name, base64.b64encode(data).decode())
enum TinyModels {
    static let affine = decode(
        "CAcSADp0ChAKAXgKA3R3bxIBdCIDTXVsChAKAXQKA29uZRIBeSIDQWRkEgZhZmZpbmUqDRABQgN0d29KBAAAAEAqDRABQgNvbmVKBAAAgD9a"
            + "EwoBeBIOCgwIARIICgIIAQoCCARiEwoBeRIOCgwIARIICgIIAQoCCARCBAoAEA0=")
    static let int64 = decode(
        "CAcSADqBAQoSCgF4CgV0aHJlZRIBdCIDTXVsChEKAXQKBGZpdmUSAXkiA1N1YhIFaW50NjQqExAHQgV0aHJlZUoIAwAAAAAAAAAqEhAHQgRm"
            + "aXZlSggFAAAAAAAAAFoTCgF4Eg4KDAgHEggKAggCCgIIA2ITCgF5Eg4KDAgHEggKAggCCgIIA0IECgAQDQ==")
    static let batch = decode(
        "CAcSADqpAQoPCgF4EgRyZWx1IgRSZWx1CioKAXgKBGF4ZXMSA3N1bSIJUmVkdWNlU3VtKg8KCGtlZXBkaW1zGACgAQISBWJhdGNoKhQIARAH"
            + "QgRheGVzSggBAAAAAAAAAFoYCgF4EhMKEQgBEg0KBxIFYmF0Y2gKAggDYhsKBHJlbHUSEwoRCAESDQoHEgViYXRjaAoCCANiFgoDc3VtEg8K"
            + "DQgBEgkKBxIFYmF0Y2hCBAoAEA0=")
    static let diff = decode(
        "CAcSADpJCg4KAWEKAWISAWQiA1N1YhIEZGlmZloPCgFhEgoKCAgLEgQKAggDWg8KAWISCgoICAsSBAoCCANiDwoBZBIKCggICxIECgIIA0IE"
            + "CgAQDQ==")
    static let half = decode(
        "CAcSADpBChcKAXgSAWgiBENhc3QqCQoCdG8YCqABAhIEaGFsZloPCgF4EgoKCAgCEgQKAggEYg8KAWgSCgoICAoSBAoCCARCBAoAEA0=")
    static let bool = decode(
        "CAcSADo1CgsKAXgSAW4iA05vdBIEYm9vbFoPCgF4EgoKCAgJEgQKAggCYg8KAW4SCgoICAkSBAoCCAJCBAoAEA0=")

    private static func decode(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }
}

/// A digest that stands for test model `n` (the backend trusts the caller's digest).
private func digest(_ n: UInt8) -> Digest { Digest(hashBytes: [UInt8](repeating: n, count: 32)) }

private func bytes(_ values: [Float]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }
private func bytes(_ values: [Double]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }
private func bytes<I: FixedWidthInteger>(_ values: [I]) -> [UInt8] { values.flatMap { le($0) } }
private func le<I: FixedWidthInteger>(_ value: I) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

private func floats(_ tensor: Tensor) -> [Float] {
    stride(from: 0, to: tensor.data.count, by: 4).map { offset in
        Float(bitPattern: tensor.data[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
    }
}

/// Sums of each row of three (the values are small integers, so any summation order is exact).
private func rowSums(_ x: [Float]) -> [Float] {
    stride(from: 0, to: x.count, by: 3).map { (row: Int) -> Float in x[row] + x[row + 1] + x[row + 2] }
}

private func float32(_ shape: [Int], _ values: [Float]) -> Tensor { Tensor(type: .float32, shape: shape, data: bytes(values)) }

/// The InferenceError `body` throws, or nil (recording an issue for any other error).
private func message(_ body: () throws -> Void) -> InferenceError? {
    do { try body() } catch let error as InferenceError { return error } catch {
        Issue.record("unexpected error \(error)")
    }
    return nil
}

private let libraryPath = ONNXRuntimeBackend.findLibrary()

@Suite(
    .enabled(
        if: libraryPath != nil,
        "ONNX Runtime not found: run scripts/setup-models.sh or set STRATUS_ONNXRUNTIME to libonnxruntime's path"))
struct ONNXRuntimeBackendTests {
    let backend: ONNXRuntimeBackend

    init() throws {
        backend = try ONNXRuntimeBackend(libraryPath: libraryPath!)
    }

    @Test func reportsVersionAndAPI() {
        #expect(backend.name == "onnxruntime \(backend.version)")
        #expect(backend.version.hasPrefix("1."))
        #expect((5...24).contains(backend.apiVersion))
        #expect(backend.intraOpThreads == 1 && !backend.allowSpinning)
    }

    @Test func runsAFloatModelExactly() throws {
        let model = try backend.model(digest: digest(1), bytes: TinyModels.affine)
        #expect(model.inputs == [TensorInfo(name: "x", type: .float32, shape: [1, 4])])
        #expect(model.outputs == [TensorInfo(name: "y", type: .float32, shape: [1, 4])])
        let out = try model.run([float32([1, 4], [0, 1, -2.5, 1_000_000])])
        #expect(out == [float32([1, 4], [1, 3, -4, 2_000_001])])
    }

    @Test func runsAnInt64Model() throws {
        let model = try backend.model(digest: digest(2), bytes: TinyModels.int64)
        #expect(model.inputs == [TensorInfo(name: "x", type: .int64, shape: [2, 3])])
        let x: [Int64] = [0, 1, -7, 1 << 40, Int64.max / 4, -(1 << 50)]
        let out = try model.run([Tensor(type: .int64, shape: [2, 3], data: bytes(x))])
        #expect(out == [Tensor(type: .int64, shape: [2, 3], data: bytes(x.map { $0 * 3 - 5 }))])
    }

    @Test(arguments: [1, 2, 5])
    func acceptsAnyBatchSizeOnADynamicDimension(batch: Int) throws {
        let model = try backend.model(digest: digest(3), bytes: TinyModels.batch)
        #expect(model.inputs == [TensorInfo(name: "x", type: .float32, shape: [-1, 3])])
        #expect(
            model.outputs == [
                TensorInfo(name: "relu", type: .float32, shape: [-1, 3]), TensorInfo(name: "sum", type: .float32, shape: [-1]),
            ])
        let x = (0..<batch * 3).map { Float($0 % 2 == 0 ? $0 : -$0) }
        let out = try model.run([float32([batch, 3], x)])
        #expect(out.count == 2)
        #expect(out[0] == float32([batch, 3], x.map { max($0, 0) }))
        #expect(out[1] == float32([batch], rowSums(x)))
    }

    @Test func passesInputsInGraphOrder() throws {
        let model = try backend.model(digest: digest(4), bytes: TinyModels.diff)
        #expect(model.inputs.map(\.name) == ["a", "b"])
        let a: [Double] = [10, 0.1, -1e300]
        let b: [Double] = [3, 0.2, 1e300]
        let out = try model.run([Tensor(type: .float64, shape: [3], data: bytes(a)), Tensor(type: .float64, shape: [3], data: bytes(b))])
        #expect(out == [Tensor(type: .float64, shape: [3], data: bytes(zip(a, b).map { $0 - $1 }))])
    }

    @Test func returnsFloat16AndTakesUInt8() throws {
        let model = try backend.model(digest: digest(5), bytes: TinyModels.half)
        #expect(model.inputs == [TensorInfo(name: "x", type: .uint8, shape: [4])])
        #expect(model.outputs == [TensorInfo(name: "h", type: .float16, shape: [4])])
        let out = try model.run([Tensor(type: .uint8, shape: [4], data: [0, 1, 2, 255])])
        // IEEE half: 0, 1.0 = 0x3C00, 2.0 = 0x4000, 255.0 = 0x5BF8.
        #expect(out == [Tensor(type: .float16, shape: [4], data: bytes([0, 0x3C00, 0x4000, 0x5BF8] as [UInt16]))])
    }

    @Test func rejectsUnsupportedElementTypes() {
        let error = message { _ = try backend.model(digest: digest(6), bytes: TinyModels.bool) }
        guard case .invalidModel(let why) = error else {
            Issue.record("expected invalidModel, got \(String(describing: error))")
            return
        }
        #expect(why.contains("'x'") && why.contains("bool"))
    }

    @Test(arguments: [
        ("garbage", Array("this is not an ONNX model at all".utf8)),
        ("truncated", Array(TinyModels.affine.prefix(60))),
        ("empty", []),
    ])
    func rejectsCorruptModels(_ label: String, _ bytes: [UInt8]) {
        let error = message { _ = try backend.model(digest: digest(7), bytes: bytes) }
        guard case .invalidModel(let why) = error else {
            Issue.record("\(label): expected invalidModel, got \(String(describing: error))")
            return
        }
        #expect(!why.isEmpty)
        #expect(backend.cachedModelCount == 0, "a failed load is not cached")
    }

    @Test func checksInputsBeforeRunning() throws {
        let model = try backend.model(digest: digest(1), bytes: TinyModels.affine)
        let good = float32([1, 4], [1, 2, 3, 4])
        let cases: [(String, [Tensor], String)] = [
            ("no inputs", [], "takes 1 input"),
            ("two inputs", [good, good], "takes 1 input"),
            ("wrong type", [Tensor(type: .int32, shape: [1, 4], data: bytes([1, 2, 3, 4] as [Int32]))], "must be float32, got int32"),
            ("wrong rank", [float32([4], [1, 2, 3, 4])], "must have shape [1, 4] (rank 2), got [4]"),
            ("wrong dimension", [float32([1, 5], [1, 2, 3, 4, 5])], "dimension 1 is 5, expected 4"),
            ("wrong batch", [float32([2, 4], Array(repeating: 0, count: 8))], "dimension 0 is 2, expected 1"),
            ("short data", [Tensor(type: .float32, shape: [1, 4], data: Array(repeating: 0, count: 15))], "needs 16 bytes, got 15"),
            ("long data", [Tensor(type: .float32, shape: [1, 4], data: Array(repeating: 0, count: 20))], "needs 16 bytes, got 20"),
            ("negative dimension", [Tensor(type: .float32, shape: [1, -4], data: [])], "dimension 1 is -4"),
        ]
        for (label, inputs, expected) in cases {
            let error = message { _ = try model.run(inputs) }
            guard case .invalidInput(let why) = error else {
                Issue.record("\(label): expected invalidInput, got \(String(describing: error))")
                continue
            }
            #expect(why.contains(expected), "\(label): \(why)")
        }
        #expect(try model.run([good]) == [float32([1, 4], [3, 5, 7, 9])], "the model still works")
    }

    @Test func rejectsAnEmptyOrHugeDynamicDimension() throws {
        let model = try backend.model(digest: digest(3), bytes: TinyModels.batch)
        let empty = message { _ = try model.run([float32([0, 3], [])]) }
        guard case .invalidInput(let why) = empty else {
            Issue.record("expected invalidInput, got \(String(describing: empty))")
            return
        }
        #expect(why.contains("any size above 0"))
        let huge = message { _ = try model.run([Tensor(type: .float32, shape: [Int.max / 2, 3], data: [])]) }
        guard case .invalidInput = huge else {
            Issue.record("expected invalidInput, got \(String(describing: huge))")
            return
        }
    }

    @Test func loadsEachDigestOnceUnderConcurrency() async throws {
        let backend = self.backend
        let ids = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<32 {
                group.addTask { ObjectIdentifier(try backend.model(digest: digest(8), bytes: TinyModels.affine) as AnyObject) }
            }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(backend.cachedModelCount == 1)
        let other = try backend.model(digest: digest(9), bytes: TinyModels.affine)
        #expect(ObjectIdentifier(other as AnyObject) != ids.first, "another digest is another model")
    }

    @Test func runsOneModelFromManyTasksAtOnce() async throws {
        let model = try backend.model(digest: digest(3), bytes: TinyModels.batch)
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<64 {
                group.addTask {
                    var wrong = 0
                    for round in 0..<50 {
                        let batch = 1 + (task + round) % 7
                        let x: [Float] = (0..<batch * 3).map { i in
                            let magnitude = Float(task * 1000 + round * 10 + i)
                            return i % 2 == 0 ? magnitude : -magnitude
                        }
                        let out = try model.run([float32([batch, 3], x)])
                        let expected = [float32([batch, 3], x.map { max($0, 0) }), float32([batch], rowSums(x))]
                        if out != expected { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
    }

    @Test func runsWithAThreadPoolAndSpinning() throws {
        let pooled = try ONNXRuntimeBackend(libraryPath: libraryPath!, intraOpThreads: 2, allowSpinning: true)
        #expect(pooled.intraOpThreads == 2 && pooled.allowSpinning)
        let model = try pooled.model(digest: digest(1), bytes: TinyModels.affine)
        #expect(try model.run([float32([1, 4], [1, 2, 3, 4])]) == [float32([1, 4], [3, 5, 7, 9])])
        #expect(throws: InferenceError.self) { try ONNXRuntimeBackend(libraryPath: libraryPath!, intraOpThreads: -1) }
    }

    @Test func keepsAModelUsableAfterItsBackendIsGone() throws {
        var backend: ONNXRuntimeBackend? = try ONNXRuntimeBackend(libraryPath: libraryPath!)
        let model = try backend!.model(digest: digest(1), bytes: TinyModels.affine)
        backend = nil
        #expect(try model.run([float32([1, 4], [1, 2, 3, 4])]) == [float32([1, 4], [3, 5, 7, 9])])
    }

    @Test func refusesAMissingOrSecondLibrary() throws {
        let missing = message { _ = try ONNXRuntimeBackend(libraryPath: "/nonexistent/\(ONNXRuntimeBackend.libraryFileName)") }
        guard case .unavailable(let why) = missing else {
            Issue.record("expected unavailable, got \(String(describing: missing))")
            return
        }
        #expect(why.contains("/nonexistent/"))
        // The process already has ONNX Runtime (from init); another file is refused, the same file is fine.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-not-ort-\(getpid()).so")
        try Data([0x7f, 0x45, 0x4c, 0x46]).write(to: other)
        defer { try? FileManager.default.removeItem(at: other) }
        let second = message { _ = try ONNXRuntimeBackend(libraryPath: other.path) }
        guard case .unavailable(let text) = second else {
            Issue.record("expected unavailable, got \(String(describing: second))")
            return
        }
        #expect(text.contains("already loaded"))
        _ = try ONNXRuntimeBackend(libraryPath: libraryPath!)
    }
}

struct ONNXRuntimeLibraryLookupTests {
    @Test func prefersTheEnvironmentVariable() {
        let found = ONNXRuntimeBackend.findLibrary(
            environment: ["STRATUS_ONNXRUNTIME": "/opt/ort/libonnxruntime.so.1"], currentDirectory: "/", executablePath: "/bin/true")
        #expect(found == "/opt/ort/libonnxruntime.so.1")
    }

    @Test func searchesUpwardFromTheCurrentDirectoryThenTheExecutable() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("stratus-ort-lookup-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        let lib = root.appendingPathComponent("repo/.cache/onnxruntime/lib")
        try fm.createDirectory(at: lib, withIntermediateDirectories: true)
        let deep = root.appendingPathComponent("repo/a/b/c")
        try fm.createDirectory(at: deep, withIntermediateDirectories: true)
        let elsewhere = root.appendingPathComponent("elsewhere")
        try fm.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let library = lib.appendingPathComponent(ONNXRuntimeBackend.libraryFileName)

        #expect(ONNXRuntimeBackend.findLibrary(environment: [:], currentDirectory: deep.path, executablePath: "/nonexistent/x") == nil)
        try Data().write(to: library)
        let fromCwd = ONNXRuntimeBackend.findLibrary(environment: [:], currentDirectory: deep.path, executablePath: "/nonexistent/x")
        #expect(fromCwd.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath() } == library.resolvingSymlinksInPath())
        let fromExecutable = ONNXRuntimeBackend.findLibrary(
            environment: [:], currentDirectory: elsewhere.path, executablePath: deep.appendingPathComponent("tool").path)
        #expect(fromExecutable.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath() } == library.resolvingSymlinksInPath())
        #expect(ONNXRuntimeBackend.findLibrary(environment: ["STRATUS_ONNXRUNTIME": ""], currentDirectory: deep.path) != nil)
    }
}
