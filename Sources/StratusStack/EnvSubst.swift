/// `${VAR}` expansion over a whole stack file, as faas-cli does it before parsing the YAML.
///
/// faas-cli runs the raw text through drone/envsubst 1.0.3 with a lookup that gives unset
/// variables the empty string. This reproduces that dialect:
/// - `${VAR}`; a bare `$VAR` is left alone;
/// - `${VAR:-word}`, `${VAR:=word}`, `${VAR=word}`, `${VAR:?word}`, `${VAR:+word}`: all mean
///   "`word` when VAR is unset or empty" (envsubst treats them alike); `word` may nest `${...}`;
/// - `${#VAR}`, `${VAR^}`, `${VAR^^}`, `${VAR,}`, `${VAR,,}`, `${VAR:offset}`, `${VAR:offset:length}`,
///   `${VAR#glob}`, `${VAR##glob}`, `${VAR%glob}`, `${VAR%%glob}`, `${VAR/old/new}`, `${VAR//old/new}`,
///   `${VAR/#old/new}`, `${VAR/%old/new}`;
/// - escapes: `$$` is `$` (so `$${VAR}` stays literal), `\\` is `\` and `\/` is `/`;
/// - `-` is part of a name, so `${VAR-word}` reads the variable `VAR-word`.
/// Anything else inside `${...}` (or a missing `}`) is a "bad substitution", as in faas-cli.
struct EnvSubst {
    /// Where a bad substitution starts, as an offset in Unicode scalars.
    struct BadSubstitution: Error {
        var offset: Int
    }

    private let text: [Unicode.Scalar]
    private let environment: [String: String]
    private var pos = 0
    private var start = 0

    /// The expanded text, and for each of its Unicode scalars the offset in the original text it
    /// comes from (a substituted value maps to its `${`); `origins` is `nil` when nothing changed.
    struct Expansion {
        var text: String
        var origins: [Int]?
    }

    /// Expands every substitution in `text`.
    static func expand(_ text: String, environment: [String: String]) throws(BadSubstitution) -> String {
        try expandTracking(text, environment: environment).text
    }

    /// Expands every substitution in `text`, keeping track of where each output character came from.
    static func expandTracking(_ text: String, environment: [String: String]) throws(BadSubstitution) -> Expansion {
        var expander = EnvSubst(text: Array(text.unicodeScalars), environment: environment)
        return try expander.run()
    }

    private init(text: [Unicode.Scalar], environment: [String: String]) {
        self.text = text
        self.environment = environment
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        pos + ahead < text.count ? text[pos + ahead] : nil
    }

    private var atOpening: Bool { peek() == "$" && peek(1) == "{" }

    private var bad: BadSubstitution { BadSubstitution(offset: start) }

    private mutating func run() throws(BadSubstitution) -> Expansion {
        var out = String.UnicodeScalarView()
        var origins: [Int] = []
        var changed = false
        while let c = peek() {
            let origin = pos
            if atOpening {
                start = pos
                pos += 2
                let value = try expression().unicodeScalars
                out.append(contentsOf: value)
                origins.append(contentsOf: repeatElement(origin, count: value.count))
                changed = true
            } else if let escaped = escape() {
                out.append(escaped)
                origins.append(origin)
                changed = true
            } else {
                out.append(c)
                origins.append(origin)
                pos += 1
            }
        }
        return Expansion(text: String(out), origins: changed ? origins : nil)
    }

    /// Consumes `$$`, `\\` or `\/` and returns the character it stands for.
    private mutating func escape() -> Unicode.Scalar? {
        guard let c = peek(), let next = peek(1) else { return nil }
        guard (c == "$" && next == "$") || (c == "\\" && (next == "\\" || next == "/")) else { return nil }
        pos += 2
        return next
    }

    /// Parses what follows `${` up to its `}` and returns its value.
    private mutating func expression() throws(BadSubstitution) -> String {
        if peek() == "#" {
            pos += 1
            let name = try identifier()
            try expect("}")
            return String(value(name).utf8.count)
        }
        let name = try identifier()
        let value = value(name)
        switch peek() {
        case "}":
            pos += 1
            return value
        case ":" where peek(1).map({ "=-?+".unicodeScalars.contains($0) }) == true, "=":
            pos += peek() == ":" ? 2 : 1
            var words: [String] = []
            while peek() != "}" {
                words.append(try parameter(escapes: false) { $0 != "}" })
            }
            pos += 1
            return value.isEmpty && !words.isEmpty ? words.joined() : value
        case ":":
            pos += 1
            var arguments = [try parameter(escapes: false) { $0 != ":" && $0 != "}" }]
            if peek() != "}" {
                try repeated(":")
                arguments.append(try parameter(escapes: false) { $0 != "}" })
            }
            try expect("}")
            return EnvSubstFunctions.substring(value, arguments)
        case ",", "^":
            let op = operatorRun(of: ",^", max: 2)
            try expect("}")
            return EnvSubstFunctions.changeCase(value, op)
        case "/":
            pos += 1
            var op = "/"
            if let c = peek(), "/#%".unicodeScalars.contains(c) {
                op.unicodeScalars.append(c)
                pos += 1
            }
            var arguments = [try parameter(escapes: true) { $0 != "/" }]
            try repeated("/")
            if peek() != "}" { arguments.append(try parameter(escapes: true) { $0 != "}" }) }
            try expect("}")
            return EnvSubstFunctions.replace(value, op, arguments)
        case "#", "%":
            let op = operatorRun(of: peek() == "#" ? "#" : "%", max: 2)
            let pattern = try parameter(escapes: false) { $0 != "}" }
            try expect("}")
            return EnvSubstFunctions.trim(value, op, pattern)
        default:
            throw bad
        }
    }

    private func value(_ name: String) -> String { environment[name] ?? "" }

    /// A variable name: letters, digits, `_` and `-`.
    private mutating func identifier() throws(BadSubstitution) -> String {
        var name = String.UnicodeScalarView()
        while let c = peek(), EnvSubst.isNameCharacter(c) {
            name.append(c)
            pos += 1
        }
        guard !name.isEmpty else { throw bad }
        return String(name)
    }

    private static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return c == "_" || c == "-"
        }
    }

    /// One function argument: a nested `${...}`, or a non-empty run of text the predicate accepts.
    private mutating func parameter(
        escapes: Bool, accept: (Unicode.Scalar) -> Bool
    ) throws(BadSubstitution) -> String {
        if atOpening {
            pos += 2
            return try expression()
        }
        var out = String.UnicodeScalarView()
        while let c = peek(), !atOpening {
            if escapes, let escaped = escape() {
                out.append(escaped)
                continue
            }
            guard accept(c) else { break }
            out.append(c)
            pos += 1
        }
        guard !out.isEmpty else { throw bad }
        return String(out)
    }

    /// Up to `max` characters from `set`, as an operator name.
    private mutating func operatorRun(of set: String, max: Int) -> String {
        var op = ""
        while op.unicodeScalars.count < max, let c = peek(), set.unicodeScalars.contains(c) {
            op.unicodeScalars.append(c)
            pos += 1
        }
        return op
    }

    /// One or more `c`.
    private mutating func repeated(_ c: Unicode.Scalar) throws(BadSubstitution) {
        guard peek() == c else { throw bad }
        while peek() == c { pos += 1 }
    }

    private mutating func expect(_ c: Unicode.Scalar) throws(BadSubstitution) {
        guard peek() == c else { throw bad }
        pos += 1
    }
}
