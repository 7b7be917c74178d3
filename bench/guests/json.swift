// Guest compute for bench/engines.sh: a JSON parse in Swift. The same source is built as Embedded
// Swift for WASI (swiftc -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded -O,
// linked with wasi-libc) and natively (swiftc -O). It times its own work, so process and
// instance start are not measured.
//
// Input (stdin: the request body under Stratus, a pipe natively):  json [ITERATIONS [BUDGET_MS]]
// The program generates a JSON document of a few hundred KB (an array of records with nested
// objects, arrays, strings with escapes, integers and decimals), then per iteration parses it into
// a tree (objects, arrays, strings, numbers) and walks the tree: objects counted, numbers summed.
// It prints one line:  workload=json best_ns=… median_ns=… iterations=… check=… bytes=…

#if hasFeature(Embedded)
@_extern(c, "read") func c_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int
#if arch(wasm32)
@_extern(wasm, module: "wasi_snapshot_preview1", name: "clock_time_get") @_extern(c)
func wasi_clock_time_get(_ id: UInt32, _ precision: UInt64, _ time: UnsafeMutablePointer<UInt64>) -> UInt16

/// CLOCK_MONOTONIC through the WASI import wasi-libc's clock_gettime uses.
func nowNanoseconds() -> UInt64 {
    var time: UInt64 = 0
    _ = wasi_clock_time_get(1, 1, &time)
    return time
}
#else
// Embedded Swift built natively (64-bit Linux, linked with glibc): an extra baseline that has the
// Wasm build's code generation (no runtime, everything specialised) without the engine.
@_extern(c, "clock_gettime") func c_clock_gettime(_ id: Int32, _ ts: UnsafeMutablePointer<Int>) -> Int32

func nowNanoseconds() -> UInt64 {
    var ts = (0, 0)  // struct timespec { long tv_sec; long tv_nsec; }
    _ = withUnsafeMutablePointer(to: &ts) { $0.withMemoryRebound(to: Int.self, capacity: 2) { c_clock_gettime(1, $0) } }
    return UInt64(ts.0) * 1_000_000_000 + UInt64(ts.1)
}
#endif

func readInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 256)
    while bytes.count < 4096 {
        let n = chunk.withUnsafeMutableBytes { c_read(0, $0.baseAddress!, 256) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

@_cdecl("main")
func cMain(_ argc: Int32, _ argv: UnsafeRawPointer?) -> Int32 { benchMain() }
#else
import Glibc

func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func readInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 256)
    while bytes.count < 4096 {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, 256) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

@main
struct NativeMain {
    static func main() { exit(benchMain()) }
}
#endif

// MARK: The document

func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    if value < 0 {
        out.append(UInt8(ascii: "-"))
        appendDecimal(-value, to: &out)
        return
    }
    if value >= 10 { appendDecimal(value / 10, to: &out) }
    out.append(UInt8(ascii: "0") + UInt8(value % 10))
}

func appendText(_ text: StaticString, to out: inout [UInt8]) {
    text.withUTF8Buffer { out.append(contentsOf: $0) }
}

/// An array of `records` objects, each ~280 bytes: {"id":…,"name":"item-…","active":…,"price":…,
/// "tags":[…],"owner":{"name":…,"email":…,"score":…},"history":[{"t":…,"v":…},…],"note":"…\"…\\n…"}
func makeDocument(records: Int) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(records * 300)
    var x: UInt32 = 0x9E37_79B9
    func next() -> Int {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5
        return Int(x % 100_000)
    }
    out.append(UInt8(ascii: "["))
    for i in 0..<records {
        if i > 0 { appendText(",\n", to: &out) }
        appendText("{\"id\": ", to: &out); appendDecimal(i, to: &out)
        appendText(", \"name\": \"item-", to: &out); appendDecimal(next(), to: &out)
        appendText("\", \"active\": ", to: &out); appendText(i % 3 == 0 ? "false" : "true", to: &out)
        appendText(", \"price\": ", to: &out); appendDecimal(next() / 100, to: &out)
        out.append(UInt8(ascii: ".")); appendDecimal(10 + next() % 90, to: &out)
        appendText(", \"tags\": [\"alpha\", \"beta\", \"gamma-", to: &out); appendDecimal(i % 7, to: &out)
        appendText("\"], \"owner\": {\"name\": \"Ada L.\", \"email\": \"ada", to: &out); appendDecimal(i % 97, to: &out)
        appendText("@example.com\", \"score\": -", to: &out); appendDecimal(next(), to: &out)
        appendText("e-3}, \"history\": [", to: &out)
        for j in 0..<3 {
            if j > 0 { appendText(", ", to: &out) }
            appendText("{\"t\": ", to: &out); appendDecimal(1_700_000_000 + next(), to: &out)
            appendText(", \"v\": ", to: &out); appendDecimal(next() - 50_000, to: &out)
            appendText("}", to: &out)
        }
        appendText("], \"note\": \"line one\\nline \\\"two\\\" \\u00e9\", \"extra\": null}", to: &out)
    }
    out.append(UInt8(ascii: "]"))
    return out
}

// MARK: The parser

indirect enum JSONValue {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt8])
    case array([JSONValue])
    case object([(key: [UInt8], value: JSONValue)])
}

struct Parser {
    let bytes: [UInt8]
    var index = 0
    var failed = false

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 } else { break }
        }
    }

    mutating func fail() -> JSONValue {
        failed = true
        return .null
    }

    mutating func parseValue() -> JSONValue {
        skipSpace()
        guard index < bytes.count else { return fail() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return parseObject()
        case UInt8(ascii: "["): return parseArray()
        case UInt8(ascii: "\""): return parseString().map { .string($0) } ?? fail()
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return parseNumber()
        }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return fail() }
        var same = true
        word.withUTF8Buffer { text in
            for k in 0..<count where bytes[index + k] != text[k] { same = false }
        }
        guard same else { return fail() }
        index += count
        return value
    }

    mutating func parseObject() -> JSONValue {
        index += 1
        var members: [(key: [UInt8], value: JSONValue)] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = parseString() else { return fail() }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return fail() }
            index += 1
            let value = parseValue()
            if failed { return .null }
            members.append((key: key, value: value))
            skipSpace()
            guard index < bytes.count else { return fail() }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            return fail()
        }
    }

    mutating func parseArray() -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            let value = parseValue()
            if failed { return .null }
            elements.append(value)
            skipSpace()
            guard index < bytes.count else { return fail() }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            return fail()
        }
    }

    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// A string's UTF-8 bytes with its escapes decoded (\uXXXX to UTF-8; surrogate pairs joined).
    mutating func parseString() -> [UInt8]? {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            if b == UInt8(ascii: "\"") { return out }
            if b != UInt8(ascii: "\\") { out.append(b); continue }
            guard index < bytes.count else { return nil }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { return nil }
                if scalar >= 0xD800, scalar < 0xDC00, index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                   bytes[index + 1] == UInt8(ascii: "u") {
                    index += 2
                    guard let low = hex4() else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // \" \\ \/
            }
        }
        return nil
    }

    mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = Self.hexValue(bytes[index + k]) else { return nil }
            value = value << 4 | digit
        }
        index += 4
        return value
    }

    func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        if scalar < 0x80 {
            out.append(UInt8(scalar))
        } else if scalar < 0x800 {
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// -?digits[.digits][(e|E)[+-]digits], accumulated in a Double (no strtod).
    mutating func parseNumber() -> JSONValue {
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        var mantissa: Double = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            mantissa = mantissa * 10 + Double(bytes[index] - UInt8(ascii: "0"))
            index += 1; digits += 1
        }
        guard digits > 0 else { return fail() }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                mantissa = mantissa * 10 + Double(bytes[index] - UInt8(ascii: "0"))
                exponent -= 1; index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var sign = 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                if bytes[index] == UInt8(ascii: "-") { sign = -1 }
                index += 1
            }
            var e = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                e = e * 10 + Int(bytes[index] - UInt8(ascii: "0")); index += 1
            }
            exponent += sign * e
        }
        var value = mantissa
        if exponent < 0 { for _ in 0..<(-exponent) { value /= 10 } } else { for _ in 0..<exponent { value *= 10 } }
        return .number(negative ? -value : value)
    }
}

/// Objects, numbers' sum and strings' total length in the tree.
struct Tally {
    var objects = 0
    var sum: Double = 0
    var stringBytes = 0
}

func walk(_ value: JSONValue, _ tally: inout Tally) {
    switch value {
    case .null, .bool: break
    case .number(let n): tally.sum += n
    case .string(let s): tally.stringBytes += s.count
    case .array(let elements): for element in elements { walk(element, &tally) }
    case .object(let members):
        tally.objects += 1
        for member in members {
            tally.stringBytes += member.key.count
            walk(member.value, &tally)
        }
    }
}

// MARK: main

func parseArguments(_ input: [UInt8]) -> (workload: [UInt8], iterations: Int, budgetMilliseconds: Int) {
    var words: [[UInt8]] = []
    var current: [UInt8] = []
    for b in input {
        if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 {
            if !current.isEmpty { words.append(current); current = [] }
        } else {
            current.append(b)
        }
    }
    if !current.isEmpty { words.append(current) }
    func number(_ k: Int, _ fallback: Int) -> Int {
        guard k < words.count else { return fallback }
        var value = 0
        for b in words[k] {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return fallback }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }
    return (words.first ?? [], number(1, 5), number(2, 5000))
}

func benchMain() -> Int32 {
    let arguments = parseArguments(readInput())
    let json: [UInt8] = Array("json".utf8)
    guard arguments.workload == json else {
        print("usage: json [ITERATIONS [BUDGET_MS]] on stdin")
        return 65
    }
    let iterations = min(max(arguments.iterations, 1), 1000)
    let document = makeDocument(records: 1200)
    var times: [UInt64] = []
    var check: Int64 = 0
    let start = nowNanoseconds()
    while times.count < iterations {
        let t0 = nowNanoseconds()
        var parser = Parser(document)
        let tree = parser.parseValue()
        var tally = Tally()
        walk(tree, &tally)
        let t1 = nowNanoseconds()
        if parser.failed {
            print("parse failed at byte \(parser.index)")
            return 70
        }
        check = Int64(tally.objects) &* 1_000_003 &+ Int64(tally.sum) &+ Int64(tally.stringBytes)
        times.append(t1 - t0)
        if (t1 - start) / 1_000_000 >= UInt64(arguments.budgetMilliseconds) { break }
    }
    times.sort()
    print("workload=json best_ns=\(times[0]) median_ns=\(times[times.count / 2]) iterations=\(times.count) check=\(check) bytes=\(document.count)")
    return 0
}
