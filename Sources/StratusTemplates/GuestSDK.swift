/// The Embedded Swift guest SDK that `stratus build` compiles next to a `swift-wasm` handler.
enum GuestSDK {
    /// The SDK's file name in the build folder.
    static let swiftFileName = "Stratus.swift"

    /// The inference and image helpers' file name in the build folder.
    static let inferenceFileName = "StratusInference.swift"

    /// The SDK's source: `Request`, `Response`, `log`, and the `main` that calls `handle`.
    static let swiftSource = #"""
        // Stratus guest SDK for Embedded Swift (a WASI preview1 command). `stratus build` compiles it
        // together with your handler; you do not copy or edit it. Write
        // `func handle(_ request: Request) -> Response` in any .swift file of the handler folder.
        //
        // Contract (OpenFaaS classic watchdog): request body on stdin, response body on stdout, logs on
        // stderr, exit code 0 -> HTTP 200 and non-zero -> HTTP 500; request metadata in environment
        // variables (Http_Method, Http_Path, Http_Query, Http_Content_Type, Http_<Header_Name>).

        /// An HTTP request as the function receives it.
        struct Request {
            /// The HTTP method, e.g. "POST".
            let method: String
            /// The path after /function/NAME, e.g. "/" or "/items/1".
            let path: String
            /// The raw query string without "?", e.g. "a=1&b=2" ("" when none).
            let query: String
            /// The Content-Type header ("" when none).
            let contentType: String
            /// The request headers in arrival order, named like "X-Foo-Bar".
            let headers: [(name: String, value: String)]
            /// The function's environment variables (its own and the Http_* ones).
            let environment: [(name: String, value: String)]
            /// The request body.
            let body: [UInt8]

            /// The body decoded as UTF-8.
            var text: String { String(decoding: body, as: UTF8.self) }

            /// The value of header `name`, ignoring case and treating "-" and "_" alike.
            func header(_ name: String) -> String? {
                let wanted = _stratusHeaderKey(name)
                for (key, value) in headers where _stratusHeaderKey(key) == wanted { return value }
                return nil
            }

            /// The environment variable `name`, or nil.
            func env(_ name: String) -> String? {
                for (key, value) in environment where key.utf8.elementsEqual(name.utf8) { return value }
                return nil
            }

            /// The first value of query parameter `name`, percent-decoded, or nil.
            func queryParameter(_ name: String) -> String? {
                for pair in Array(query.utf8).split(separator: UInt8(ascii: "&")) {
                    let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                    if _stratusPercentDecode(parts[0]).utf8.elementsEqual(name.utf8) {
                        return parts.count > 1 ? _stratusPercentDecode(parts[1]) : ""
                    }
                }
                return nil
            }
        }

        /// What the function answers: a body and whether it succeeded.
        struct Response {
            /// Success answers HTTP 200; failure answers HTTP 500; badRequest answers HTTP 400 with
            /// the body as the message (exit code 65, EX_DATAERR).
            enum Status { case success, failure, badRequest }

            /// The response body, written to stdout.
            var body: [UInt8]
            /// The process exit code: 0 for success, anything else for failure.
            var exitCode: Int32

            /// Success or failure, from the exit code.
            var status: Status { exitCode == 0 ? .success : exitCode == 65 ? .badRequest : .failure }

            /// A text response.
            init(status: Status = .success, body: String) {
                self.init(status: status, bytes: Array(body.utf8))
            }

            /// A binary response.
            init(status: Status = .success, bytes: [UInt8]) {
                self.body = bytes
                switch status {
                case .success: self.exitCode = 0
                case .failure: self.exitCode = 1
                case .badRequest: self.exitCode = 65
                }
            }

            /// A response with an explicit exit code (non-zero answers HTTP 500).
            init(exitCode: Int32, body: String) {
                self.body = Array(body.utf8)
                self.exitCode = exitCode
            }
        }

        /// Writes `message` and a newline to stderr, which goes to the function's log.
        func log(_ message: String) {
            _stratusWrite(2, Array(message.utf8) + [10])
        }

        // MARK: - WASI plumbing

        @_extern(wasm, module: "wasi_snapshot_preview1", name: "fd_read") @_extern(c)
        func _stratus_fd_read(_ fd: Int32, _ iovs: UnsafeRawPointer, _ count: Int32, _ nread: UnsafeMutablePointer<Int32>) -> Int32

        @_extern(wasm, module: "wasi_snapshot_preview1", name: "fd_write") @_extern(c)
        func _stratus_fd_write(_ fd: Int32, _ iovs: UnsafeRawPointer, _ count: Int32, _ nwritten: UnsafeMutablePointer<Int32>) -> Int32

        @_extern(wasm, module: "wasi_snapshot_preview1", name: "environ_sizes_get") @_extern(c)
        func _stratus_environ_sizes_get(_ count: UnsafeMutablePointer<Int32>, _ size: UnsafeMutablePointer<Int32>) -> Int32

        @_extern(wasm, module: "wasi_snapshot_preview1", name: "environ_get") @_extern(c)
        func _stratus_environ_get(_ environ: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, _ buffer: UnsafeMutablePointer<UInt8>) -> Int32

        /// libc's fflush: `print` output is buffered by libc, flushed before the body so the order holds.
        @_extern(c, "fflush")
        func _stratus_fflush(_ stream: UnsafeMutableRawPointer?) -> Int32

        /// libc's memcpy: a word-at-a-time copy, far faster in an interpreter than a Swift element loop.
        @_extern(c, "memcpy")
        func _stratus_memcpy(_ target: UnsafeMutableRawPointer?, _ source: UnsafeRawPointer?, _ count: Int) -> UnsafeMutableRawPointer?

        /// Reads stdin to its end. `expected` (the Content-Length, when known) sizes the buffer so the
        /// body lands in place with no copy; storage is never zeroed first (fd_read fills it).
        func _stratusReadStdin(expected: Int) -> [UInt8] {
            var capacity = max(1, min(expected, 1 << 30)) + 1  // room to see the end without growing
            if expected <= 0 { capacity = 16384 }
            var storage = [UInt8](unsafeUninitializedCapacity: capacity) { _, initialized in initialized = capacity }
            var used = 0
            while true {
                if used == capacity {
                    let bigger = capacity * 2
                    let grown = [UInt8](unsafeUninitializedCapacity: bigger) { buffer, initialized in
                        storage.withUnsafeBytes { _ = _stratus_memcpy(buffer.baseAddress, $0.baseAddress, used) }
                        initialized = bigger
                    }
                    storage = grown
                    capacity = bigger
                }
                var count: Int32 = 0
                let errno = storage.withUnsafeMutableBytes { buffer -> Int32 in
                    var iov = (buffer.baseAddress! + used, capacity - used)
                    return withUnsafePointer(to: &iov) { _stratus_fd_read(0, UnsafeRawPointer($0), 1, &count) }
                }
                if errno != 0 || count <= 0 { break }
                used += Int(count)
            }
            storage.removeLast(capacity - used)
            return storage
        }

        @discardableResult
        func _stratusWrite(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { buffer -> Bool in
                var offset = 0
                while offset < buffer.count {
                    var iov = (buffer.baseAddress! + offset, buffer.count - offset)
                    var written: Int32 = 0
                    let errno = withUnsafePointer(to: &iov) { _stratus_fd_write(fd, UnsafeRawPointer($0), 1, &written) }
                    if errno != 0 || written <= 0 { return false }
                    offset += Int(written)
                }
                return true
            }
        }

        func _stratusEnvironment() -> [(name: String, value: String)] {
            var count: Int32 = 0
            var size: Int32 = 0
            guard _stratus_environ_sizes_get(&count, &size) == 0, count > 0 else { return [] }
            var pointers = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: Int(count) + 1)
            var buffer = [UInt8](repeating: 0, count: Int(size) + 1)
            var result: [(name: String, value: String)] = []
            buffer.withUnsafeMutableBufferPointer { bytes in
                pointers.withUnsafeMutableBufferPointer { entries in
                    guard _stratus_environ_get(entries.baseAddress!, bytes.baseAddress!) == 0 else { return }
                }
                // Entries are consecutive NUL-terminated "NAME=value" strings.
                for entry in bytes.split(separator: 0) {
                    guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
                    result.append((String(decoding: entry[entry.startIndex..<equals], as: UTF8.self),
                                   String(decoding: entry[(equals + 1)...], as: UTF8.self)))
                }
            }
            return result
        }

        func _stratusHeaderKey(_ name: String) -> [UInt8] {
            name.utf8.map { byte in
                if byte == UInt8(ascii: "_") { return UInt8(ascii: "-") }
                if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { return byte + 32 }
                return byte
            }
        }

        func _stratusPercentDecode(_ text: ArraySlice<UInt8>) -> String {
            var bytes: [UInt8] = []
            var index = text.startIndex
            func hex(_ byte: UInt8) -> UInt8? {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
                default: return nil
                }
            }
            while index < text.endIndex {
                let byte = text[index]
                if byte == UInt8(ascii: "+") {
                    bytes.append(UInt8(ascii: " "))
                } else if byte == UInt8(ascii: "%"), index + 2 < text.endIndex, let high = hex(text[index + 1]), let low = hex(text[index + 2]) {
                    bytes.append(high << 4 | low)
                    index += 2
                } else {
                    bytes.append(byte)
                }
                index += 1
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        func _stratusRequest() -> Request {
            let environment = _stratusEnvironment()
            var headers: [(name: String, value: String)] = []
            var method = "GET", path = "/", query = "", contentType = ""
            for (name, value) in environment {
                let bytes = Array(name.utf8)
                guard bytes.count > 5, bytes[0..<5].elementsEqual("Http_".utf8) else { continue }
                let rest = bytes[5...].map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }
                if rest.elementsEqual("Method".utf8) { method = value }
                else if rest.elementsEqual("Path".utf8) { path = value }
                else if rest.elementsEqual("Query".utf8) { query = value }
                else {
                    if rest.elementsEqual("Content-Type".utf8) { contentType = value }
                    headers.append((String(decoding: rest, as: UTF8.self), value))
                }
            }
            var expected = 0
            for (name, value) in headers where name.utf8.elementsEqual("Content-Length".utf8) {
                for digit in value.utf8 where digit >= 48 && digit <= 57 && expected < (1 << 40) { expected = expected * 10 + Int(digit - 48) }
            }
            return Request(
                method: method, path: path, query: query, contentType: contentType,
                headers: headers, environment: environment, body: _stratusReadStdin(expected: expected))
        }

        @_cdecl("main")
        func _stratusMain() -> Int32 {
            let response = handle(_stratusRequest())
            _ = _stratus_fflush(nil)
            guard _stratusWrite(1, response.body) else { return 1 }
            return response.exitCode
        }

        """#

    /// The SDK's WASI-NN and image helpers: `Graph`, `ExecutionContext`, `imageTensor`, `base64Decode`,
    /// `topK`, `formatDecimal`. Host imports are only linked into modules that call them.
    static let inferenceSource = #"""
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
                width: spec.width, height: spec.height, resize: spec.resize.rawValue, layout: spec.layout.rawValue,
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

        """#
}
