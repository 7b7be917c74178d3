import Foundation
import WasmKit

/// What a host function sees of the guest calling it, whichever engine runs the guest: the call's
/// WASI state, its WASI-NN handles, the models it may run, and its linear memory.
///
/// One context belongs to one instance (WasmKit) or one call (Wasmtime) and is touched only by the
/// thread running it. `memory` is set by the engine around each host call.
final class HostContext: @unchecked Sendable {
    let io: GuestIO
    let nn = NNState()
    let models: FunctionModels
    var memory: UnsafeMutableRawBufferPointer?
    /// Where Wasmtime's binding writes why an instance could not be made or a run trapped.
    var errorText = [CChar](repeating: 0, count: 2048)

    init(io: GuestIO, models: FunctionModels) {
        self.io = io
        self.models = models
    }

    /// Runs `body` over the whole linear memory; EFAULT when the guest exports none.
    func access(_ body: (UnsafeMutableRawBufferPointer) -> WASIErrno) -> WASIErrno {
        guard let memory else { return .fault }
        return body(memory)
    }

    /// Forgets the call's handles and data.
    func clear() {
        io.clear()
        nn.clear()
    }
}

/// One argument of a host call: i32 arguments read `.i32`, i64 ones `.i64`.
struct HostValue {
    let i64: UInt64
    var i32: UInt32 { UInt32(truncatingIfNeeded: i64) }
}

/// A host call's arguments as the engine passed them, read without copying.
struct HostArguments {
    enum Storage {
        /// WasmKit's values.
        case values(UnsafeBufferPointer<Value>)
        /// Wasmtime's, as 64-bit words (i32s zero-extended).
        case words(UnsafePointer<UInt64>)
    }
    let storage: Storage

    subscript(index: Int) -> HostValue {
        switch storage {
        case .values(let values):
            switch values[index] {
            case .i32(let value): return HostValue(i64: UInt64(value))
            case .i64(let value): return HostValue(i64: value)
            default: return HostValue(i64: 0)
            }
        case .words(let words): return HostValue(i64: words[index])
        }
    }
}

/// Where a host function writes its result (functions without one leave it alone).
typealias HostResult = UnsafeMutablePointer<Int64>

/// A host function: its import name, its type, and its body, written once for both engines.
/// `proc_exit` throws `GuestExit`; any other error traps the guest.
struct HostFunction: Sendable {
    enum Kind: UInt8, Sendable {
        case i32 = 0
        case i64 = 1
    }
    typealias Body = @Sendable (HostContext, HostArguments, HostResult) throws -> Void

    let module: String
    let name: String
    let parameters: [Kind]
    let results: [Kind]
    let body: Body

    var wasmKitType: FunctionType {
        FunctionType(parameters: parameters.map(\.valueType), results: results.map(\.valueType))
    }
}

extension HostFunction.Kind {
    var valueType: ValueType { self == .i64 ? .i64 : .i32 }

    init?(_ type: ValueType) {
        switch type {
        case .i32: self = .i32
        case .i64: self = .i64
        default: return nil
        }
    }
}

/// Every host function Stratus offers guests: WASI preview1, WASI-NN (and `stratus_nn`), and the
/// image modules (`stratus_image`, `wasmedge_image`). Indices into `all` name them to Wasmtime.
enum HostFunctions {
    static let all: [HostFunction] = WASIHost.functions() + WASINNHost.functions() + ImageHost.functions()

    private static let byName: [String: Int] = Dictionary(
        all.enumerated().map { ("\($0.element.module)\u{0}\($0.element.name)", $0.offset) }, uniquingKeysWith: { first, _ in first })

    /// The host function a guest imports as `module`.`name`, if Stratus offers it.
    static func named(module: String, name: String) -> HostFunction? {
        byName["\(module)\u{0}\(name)"].map { all[$0] }
    }

    /// WasmKit's imports for `module`: each host function it imports, bound to `context`.
    static func wasmKitImports(for module: Module, store: Store, context: HostContext, memory: MemoryBox) -> Imports {
        var imports = Imports()
        for entry in module.imports {
            guard case .function = entry.descriptor, let function = named(module: entry.module, name: entry.name) else { continue }
            let body = function.body
            let hasResult = !function.results.isEmpty
            let resultIsI64 = function.results.first == .i64
            imports.define(module: entry.module, name: entry.name,
                           Function(store: store, parameters: function.parameters.map(\.valueType), results: function.results.map(\.valueType)) {
                               _, arguments, results in
                               var result: Int64 = 0
                               try memory.withBuffer { buffer in
                                   context.memory = buffer
                                   defer { context.memory = nil }
                                   try body(context, HostArguments(storage: .values(arguments)), &result)
                               }
                               if hasResult {
                                   results[0] = resultIsI64 ? .i64(UInt64(bitPattern: result)) : .i32(UInt32(truncatingIfNeeded: result))
                               }
                           })
        }
        return imports
    }
}

/// The guest's linear memory in WasmKit, known only after instantiation.
final class MemoryBox: @unchecked Sendable {
    var memory: Memory?

    func withBuffer(_ body: (UnsafeMutableRawBufferPointer?) throws -> Void) rethrows {
        guard let memory else { return try body(nil) }
        try memory.withUnsafeMutableBufferPointer(offset: 0, count: memory.byteCount) { try body($0) }
    }
}
