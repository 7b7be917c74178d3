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
