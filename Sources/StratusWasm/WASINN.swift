public import StratusModel
import Crypto
import Foundation
import WasmKit

/// The models a Wasm function may run and the engine that runs them (WASI-NN).
public struct FunctionModels: Sendable {
    /// A model the function declared: its name (for `load_by_name`), digest and bytes.
    public struct Model: Sendable {
        public let digest: StratusModel.Digest
        public let bytes: [UInt8]
        public init(digest: StratusModel.Digest, bytes: [UInt8]) {
            self.digest = digest
            self.bytes = bytes
        }
    }

    public let backend: (any InferenceBackend)?
    public let named: [String: Model]

    public init(backend: (any InferenceBackend)?, named: [String: Model] = [:]) {
        self.backend = backend
        self.named = named
    }

    public static let none = FunctionModels(backend: nil)
}

/// WASI-NN error numbers (`wasi_ephemeral_nn`'s `nn_errno`).
enum NNErrno: UInt32, Error {
    case success = 0
    case invalidArgument = 1
    case invalidEncoding = 2
    case missingMemory = 3
    case busy = 4
    case runtimeError = 5
    case unsupportedOperation = 6
    case tooLarge = 7
    case notFound = 8
}

/// One instance's WASI-NN handles: indices into these tables, never host pointers. Cleared after
/// every call, with the rest of the instance's state. Used only from the thread running the guest.
final class NNState: @unchecked Sendable {
    final class Context {
        let graph: any InferenceModel
        var inputs: [Tensor?]
        var outputs: [Tensor]?
        init(graph: any InferenceModel) {
            self.graph = graph
            inputs = Array(repeating: nil, count: graph.inputs.count)
        }
    }

    var graphs: [any InferenceModel] = []
    var contexts: [Context] = []
    /// Handles a guest may hold at once, so a loop of loads cannot grow the tables without bound.
    static let maxHandles = 64

    func clear() {
        graphs.removeAll()
        contexts.removeAll()
    }
}

/// The `wasi_ephemeral_nn` host module (the ABI WasmEdge and Wasmtime implement), plus Stratus's
/// `stratus_nn.graph_info`, which describes a graph's inputs and outputs as JSON.
///
/// Encodings: only `onnx` (1) runs here; targets other than `cpu` (0) are refused. Tensor types
/// follow the current witx: f16 0, f32 1, f64 2, u8 3, i32 4, i64 5. A tensor record in guest
/// memory is 20 bytes: dimensions (pointer, count of u32), type (u8 at offset 8), data (pointer, length).
struct WASINNHost {
    let models: FunctionModels
    let state: NNState
    let context: HostContext
    var io: GuestIO { context.io }

    init(context: HostContext) {
        self.context = context
        models = context.models
        state = context.nn
    }

    static let moduleName = "wasi_ephemeral_nn"
    static let extensionModuleName = "stratus_nn"

    static let signatures: [String: FunctionType] = {
        let i = ValueType.i32
        func f(_ count: Int) -> FunctionType { FunctionType(parameters: Array(repeating: i, count: count), results: [i]) }
        return [
            "load": f(5), "load_by_name": f(3), "load_by_name_with_config": f(5), "init_execution_context": f(2),
            "set_input": f(3), "compute": f(1), "get_output": f(5),
        ]
    }()

    static let extensionSignatures: [String: FunctionType] = [
        "graph_info": FunctionType(parameters: [.i32, .i32, .i32, .i32], results: [.i32]),
    ]

    static let tensorTypes: [UInt8: TensorElementType] = [0: .float16, 1: .float32, 2: .float64, 3: .uint8, 4: .int32, 5: .int64]
    static let onnxEncoding: UInt32 = 1
    static let cpuTarget: UInt32 = 0

    /// Every WASI-NN function, and `stratus_nn`'s.
    static func functions() -> [HostFunction] {
        let table = signatures.map { ($0.key, moduleName, $0.value) } + extensionSignatures.map { ($0.key, extensionModuleName, $0.value) }
        return table.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map { name, module, type in
            HostFunction(module: module, name: name, parameters: type.parameters.compactMap(HostFunction.Kind.init),
                         results: type.results.compactMap(HostFunction.Kind.init)) { context, a, out in
                let host = WASINNHost(context: context)
                let arguments = (0..<type.parameters.count).map { a[$0].i32 }
                out.pointee = Int64(host.implementation(name)(arguments).rawValue)
            }
        }
    }

    private func implementation(_ name: String) -> ([UInt32]) -> NNErrno {
        switch name {
        case "load": return { a in load(builders: a[0], count: a[1], encoding: a[2], target: a[3], graphOut: a[4]) }
        case "load_by_name": return { a in loadByName(a[0], a[1], graphOut: a[2]) }
        case "load_by_name_with_config": return { a in loadByName(a[0], a[1], graphOut: a[4]) }
        case "init_execution_context": return { a in initContext(graph: a[0], contextOut: a[1]) }
        case "set_input": return { a in setInput(context: a[0], index: a[1], tensor: a[2]) }
        case "compute": return { a in compute(context: a[0]) }
        case "get_output": return { a in getOutput(context: a[0], index: a[1], buffer: a[2], capacity: a[3], writtenOut: a[4]) }
        case "graph_info": return { a in graphInfo(graph: a[0], buffer: a[1], capacity: a[2], writtenOut: a[3]) }
        default: return { _ in .unsupportedOperation }
        }
    }

    /// A diagnostic in the function's log (its stderr), so a failing call says why.
    private func complain(_ text: String) {
        io.stderr.append(contentsOf: Array("wasi-nn: \(text)\n".utf8))
    }

    private func withMemory(_ body: (UnsafeMutableRawBufferPointer) -> NNErrno) -> NNErrno {
        guard let memory = context.memory else { return .missingMemory }
        return body(memory)
    }

    private func bytes(_ memory: UnsafeMutableRawBufferPointer, _ address: UInt32, _ count: UInt32) -> [UInt8]? {
        guard let range = WASIHost.range(memory, address, Int(count)) else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: memory[range]))
    }

    private func register(_ graph: any InferenceModel, _ memory: UnsafeMutableRawBufferPointer, _ out: UInt32) -> NNErrno {
        guard state.graphs.count < NNState.maxHandles else {
            complain("too many graphs loaded in one call (\(NNState.maxHandles))")
            return .busy
        }
        guard WASIHost.store32(memory, out, UInt32(state.graphs.count)) == .success else { return .invalidArgument }
        state.graphs.append(graph)
        return .success
    }

    private func model(digest: StratusModel.Digest, bytes: [UInt8]) -> Result<any InferenceModel, NNErrno> {
        guard let backend = models.backend else {
            complain("no inference engine on this server (run `make setup-models`, or set STRATUS_ONNXRUNTIME)")
            return .failure(.unsupportedOperation)
        }
        do throws(InferenceError) {
            return .success(try backend.model(digest: digest, bytes: bytes))
        } catch {
            complain(error.description)
            if case .invalidModel = error { return .failure(.invalidEncoding) }
            return .failure(.runtimeError)
        }
    }

    func load(builders: UInt32, count: UInt32, encoding: UInt32, target: UInt32, graphOut: UInt32) -> NNErrno {
        guard encoding == Self.onnxEncoding else {
            complain("graph encoding \(encoding) is not supported: this server runs ONNX (encoding 1)")
            return .invalidEncoding
        }
        guard target == Self.cpuTarget else {
            complain("execution target \(target) is not available: this server runs on the CPU (target 0)")
            return .unsupportedOperation
        }
        return withMemory { memory in
            guard count == 1 else {
                complain("an ONNX graph is one builder (the model file), not \(count)")
                return .invalidArgument
            }
            guard let pointer = WASIHost.load32(memory, builders), let length = WASIHost.load32(memory, builders &+ 4),
                let bytes = bytes(memory, pointer, length)
            else { return .invalidArgument }
            let digest = StratusModel.Digest(hashBytes: SHA256.hash(data: bytes))
            switch model(digest: digest, bytes: bytes) {
            case .success(let graph): return register(graph, memory, graphOut)
            case .failure(let code): return code
            }
        }
    }

    func loadByName(_ namePointer: UInt32, _ nameLength: UInt32, graphOut: UInt32) -> NNErrno {
        withMemory { memory in
            guard nameLength <= 1024, let raw = bytes(memory, namePointer, nameLength) else { return .invalidArgument }
            let name = String(decoding: raw, as: UTF8.self)
            guard let declared = models.named[name] else {
                let known = models.named.keys.sorted()
                complain("model '\(name)' is not declared by this function (declared: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
                return .notFound
            }
            switch model(digest: declared.digest, bytes: declared.bytes) {
            case .success(let graph): return register(graph, memory, graphOut)
            case .failure(let code): return code
            }
        }
    }

    func initContext(graph: UInt32, contextOut: UInt32) -> NNErrno {
        guard Int(graph) < state.graphs.count else { return .invalidArgument }
        guard state.contexts.count < NNState.maxHandles else { return .busy }
        return withMemory { memory in
            guard WASIHost.store32(memory, contextOut, UInt32(state.contexts.count)) == .success else { return .invalidArgument }
            state.contexts.append(NNState.Context(graph: state.graphs[Int(graph)]))
            return .success
        }
    }

    func setInput(context: UInt32, index: UInt32, tensor: UInt32) -> NNErrno {
        guard Int(context) < state.contexts.count else { return .invalidArgument }
        let entry = state.contexts[Int(context)]
        guard Int(index) < entry.inputs.count else {
            complain("input \(index) does not exist: the graph has \(entry.inputs.count) input(s)")
            return .invalidArgument
        }
        return withMemory { memory in
            guard let dimsPointer = WASIHost.load32(memory, tensor), let rank = WASIHost.load32(memory, tensor &+ 4),
                let typeRange = WASIHost.range(memory, tensor &+ 8, 1),
                let dataPointer = WASIHost.load32(memory, tensor &+ 12), let dataLength = WASIHost.load32(memory, tensor &+ 16),
                rank <= 16, WASIHost.range(memory, dimsPointer, Int(rank) * 4) != nil
            else { return .invalidArgument }
            guard let type = Self.tensorTypes[memory[typeRange.lowerBound]] else {
                complain("unknown tensor type \(memory[typeRange.lowerBound])")
                return .invalidArgument
            }
            var shape: [Int] = []
            for dimension in 0..<rank { shape.append(Int(WASIHost.load32(memory, dimsPointer &+ dimension &* 4) ?? 0)) }
            guard let data = bytes(memory, dataPointer, dataLength) else { return .invalidArgument }
            let value = Tensor(type: type, shape: shape, data: data)
            guard let count = value.elementCount, count * type.byteSize == data.count else {
                complain("input \(index): shape \(shape) of \(type.rawValue) needs \((value.elementCount ?? 0) * type.byteSize) bytes, got \(data.count)")
                return .invalidArgument
            }
            let declared = entry.graph.inputs[Int(index)]
            guard declared.type == type else {
                complain("input \(index) ('\(declared.name)') is \(declared.type.rawValue), not \(type.rawValue)")
                return .invalidArgument
            }
            guard Self.matches(shape, declared.shape) else {
                complain("input \(index) ('\(declared.name)') has shape \(declared.shape), not \(shape)")
                return .invalidArgument
            }
            entry.inputs[Int(index)] = value
            entry.outputs = nil
            return .success
        }
    }

    static func matches(_ shape: [Int], _ declared: [Int]) -> Bool {
        shape.count == declared.count && zip(shape, declared).allSatisfy { $1 < 0 || $0 == $1 }
    }

    func compute(context: UInt32) -> NNErrno {
        guard Int(context) < state.contexts.count else { return .invalidArgument }
        let entry = state.contexts[Int(context)]
        let inputs = entry.inputs.compactMap { $0 }
        guard inputs.count == entry.inputs.count else {
            let missing = entry.inputs.indices.filter { entry.inputs[$0] == nil }
            complain("compute before every input was set (missing: \(missing.map(String.init).joined(separator: ", ")))")
            return .invalidArgument
        }
        do throws(InferenceError) {
            entry.outputs = try entry.graph.run(inputs)
            return .success
        } catch {
            complain(error.description)
            if case .invalidInput = error { return .invalidArgument }
            return .runtimeError
        }
    }

    func getOutput(context: UInt32, index: UInt32, buffer: UInt32, capacity: UInt32, writtenOut: UInt32) -> NNErrno {
        guard Int(context) < state.contexts.count else { return .invalidArgument }
        guard let outputs = state.contexts[Int(context)].outputs else {
            complain("get_output before compute")
            return .invalidArgument
        }
        guard Int(index) < outputs.count else { return .invalidArgument }
        let data = outputs[Int(index)].data
        return withMemory { memory in
            guard data.count <= Int(capacity) else {
                complain("output \(index) is \(data.count) bytes; the buffer holds \(capacity)")
                return .tooLarge
            }
            guard let target = WASIHost.range(memory, buffer, data.count), WASIHost.range(memory, writtenOut, 4) != nil else {
                return .invalidArgument
            }
            data.withUnsafeBytes { source in
                if !source.isEmpty { memory.baseAddress!.advanced(by: target.lowerBound).copyMemory(from: source.baseAddress!, byteCount: source.count) }
            }
            return WASIHost.store32(memory, writtenOut, UInt32(data.count)) == .success ? .success : .invalidArgument
        }
    }

    /// `{"inputs": [{"name", "type", "shape"}], "outputs": [...]}` for a loaded graph.
    func graphInfo(graph: UInt32, buffer: UInt32, capacity: UInt32, writtenOut: UInt32) -> NNErrno {
        guard Int(graph) < state.graphs.count else { return .invalidArgument }
        let model = state.graphs[Int(graph)]
        struct Info: Encodable {
            let inputs: [TensorInfo]
            let outputs: [TensorInfo]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let json = try? encoder.encode(Info(inputs: model.inputs, outputs: model.outputs)) else { return .runtimeError }
        let data = [UInt8](json)
        return withMemory { memory in
            guard WASIHost.range(memory, writtenOut, 4) != nil else { return .invalidArgument }
            _ = WASIHost.store32(memory, writtenOut, UInt32(data.count))
            guard data.count <= Int(capacity) else { return .tooLarge }
            guard let target = WASIHost.range(memory, buffer, data.count) else { return .invalidArgument }
            data.withUnsafeBytes { memory.baseAddress!.advanced(by: target.lowerBound).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return .success
        }
    }
}
