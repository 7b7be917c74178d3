/// The string functions behind `${VAR...}` expressions, with drone/envsubst's results.
enum EnvSubstFunctions {
    /// `${VAR:offset}` and `${VAR:offset:length}`, counted in UTF-8 bytes; a negative offset counts
    /// from the end; an offset or length that is not a number leaves the value as it is.
    static func substring(_ value: String, _ arguments: [String]) -> String {
        let bytes = Array(value.utf8)
        guard var offset = Int(arguments[0]) else { return value }
        if offset < 0 { offset = max(0, bytes.count + offset) }
        guard offset <= bytes.count else { return "" }
        guard arguments.count > 1 else { return decode(bytes[offset...]) }
        guard let length = Int(arguments[1]) else { return value }
        let (end, overflow) = offset.addingReportingOverflow(length)
        if overflow || end >= bytes.count { return decode(bytes[offset...]) }
        guard end >= offset else { return "" }
        return decode(bytes[offset..<end])
    }

    private static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// `^` upper-cases the first character, `^^` all of them; `,` and `,,` lower-case likewise.
    static func changeCase(_ value: String, _ op: String) -> String {
        guard let first = value.unicodeScalars.first else { return value }
        let rest = String(value.unicodeScalars.dropFirst())
        switch op {
        case "^": return first.properties.uppercaseMapping + rest
        case "^^": return value.uppercased()
        case ",": return first.properties.lowercaseMapping + rest
        case ",,": return value.lowercased()
        default: return value
        }
    }

    /// `/` replaces the first `old` (or removes it when there is no `new`), `//` every one;
    /// `/#` and `/%` replace `old` only as a prefix or suffix, and need both arguments.
    static func replace(_ value: String, _ op: String, _ arguments: [String]) -> String {
        let old = arguments[0]
        let new = arguments.count > 1 ? arguments[1] : ""
        switch op {
        case "/#":
            guard arguments.count == 2, value.hasPrefix(old) else { return value }
            return new + String(value.dropFirst(old.count))
        case "/%":
            guard arguments.count == 2, value.hasSuffix(old) else { return value }
            return String(value.dropLast(old.count)) + new
        case "//":
            return replacing(value, old, new, limit: nil)
        default:
            return replacing(value, old, new, limit: 1)
        }
    }

    /// Literal replacement like Go's `strings.Replace` (an empty `old` matches between characters).
    private static func replacing(_ value: String, _ old: String, _ new: String, limit: Int?) -> String {
        let source = Array(value.unicodeScalars)
        let pattern = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        var count = 0
        while index <= source.count {
            if let limit, count >= limit { break }
            if pattern.isEmpty {
                out.append(contentsOf: new.unicodeScalars)
                count += 1
                if index < source.count { out.append(source[index]) }
                index += 1
                continue
            }
            guard index + pattern.count <= source.count else { break }
            if Array(source[index..<index + pattern.count]) == pattern {
                out.append(contentsOf: new.unicodeScalars)
                index += pattern.count
                count += 1
            } else {
                out.append(source[index])
                index += 1
            }
        }
        if index < source.count { out.append(contentsOf: source[index...]) }
        return String(out)
    }

    /// `#`/`##` strip the shortest/longest prefix matching a glob, `%`/`%%` the shortest/longest suffix.
    static func trim(_ value: String, _ op: String, _ pattern: String) -> String {
        let scalars = Array(value.unicodeScalars)
        let glob = Array(pattern.unicodeScalars)
        switch op {
        case "#": return String(String.UnicodeScalarView(trimPrefix(scalars, glob, longest: false)))
        case "##": return String(String.UnicodeScalarView(trimPrefix(scalars, glob, longest: true)))
        case "%", "%%":
            // envsubst matches suffixes by reversing both the value and the pattern.
            let trimmed = trimPrefix(scalars.reversed(), glob.reversed(), longest: op == "%%")
            return String(String.UnicodeScalarView(trimmed.reversed()))
        default: return value
        }
    }

    private static func trimPrefix(
        _ value: [Unicode.Scalar], _ pattern: [Unicode.Scalar], longest: Bool
    ) -> [Unicode.Scalar] {
        guard let glob = Glob(pattern) else { return value }
        var matched: Int?
        for length in stride(from: value.count, through: 1, by: -1) where glob.matches(value[0..<length]) {
            matched = length
            if longest { break }
        }
        guard let matched else { return value }
        return Array(value[matched...])
    }
}

/// A shell glob (`*`, `?`, `[a-z]`, `[^a]`, `\x`) where `*` also matches `/`, as envsubst uses.
struct Glob {
    private enum Token: Equatable {
        case star
        case any
        case literal(Unicode.Scalar)
        case set(negated: Bool, ranges: [ClosedRange<UInt32>])
    }

    private let tokens: [Token]

    /// Compiles a pattern; `nil` when it is malformed (envsubst then leaves the value alone).
    init?(_ pattern: [Unicode.Scalar]) {
        var tokens: [Token] = []
        var i = 0
        func escaped() -> Unicode.Scalar? {
            guard i < pattern.count else { return nil }
            if pattern[i] == "\\" {
                i += 1
                guard i < pattern.count else { return nil }
            }
            defer { i += 1 }
            return pattern[i]
        }
        while i < pattern.count {
            switch pattern[i] {
            case "*": tokens.append(.star); i += 1
            case "?": tokens.append(.any); i += 1
            case "[":
                i += 1
                let negated = i < pattern.count && pattern[i] == "^"
                if negated { i += 1 }
                var ranges: [ClosedRange<UInt32>] = []
                while true {
                    guard i < pattern.count else { return nil }
                    if pattern[i] == "]", !ranges.isEmpty { i += 1; break }
                    guard pattern[i] != "-", pattern[i] != "]", let lo = escaped() else { return nil }
                    var hi = lo
                    if i < pattern.count, pattern[i] == "-" {
                        i += 1
                        guard i < pattern.count, pattern[i] != "]", pattern[i] != "-", let upper = escaped() else {
                            return nil
                        }
                        hi = upper
                    }
                    guard lo.value <= hi.value else { return nil }
                    ranges.append(lo.value...hi.value)
                }
                tokens.append(.set(negated: negated, ranges: ranges))
            default:
                guard let c = escaped() else { return nil }
                tokens.append(.literal(c))
            }
        }
        self.tokens = tokens
    }

    /// Whether the whole of `text` matches.
    func matches(_ text: ArraySlice<Unicode.Scalar>) -> Bool {
        let text = Array(text)
        // reachable[j]: the tokens consumed so far can match text[0..<j].
        var reachable = [Bool](repeating: false, count: text.count + 1)
        reachable[0] = true
        for token in tokens {
            var next = [Bool](repeating: false, count: text.count + 1)
            for j in 0...text.count where reachable[j] {
                if token == .star {
                    for k in j...text.count { next[k] = true }
                    break
                }
                if j < text.count, accepts(token, text[j]) { next[j + 1] = true }
            }
            reachable = next
        }
        return reachable[text.count]
    }

    private func accepts(_ token: Token, _ c: Unicode.Scalar) -> Bool {
        switch token {
        case .star, .any: return true
        case .literal(let l): return l == c
        case .set(let negated, let ranges): return ranges.contains { $0.contains(c.value) } != negated
        }
    }
}
