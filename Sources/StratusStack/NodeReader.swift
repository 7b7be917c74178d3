import Yams

/// One key of a YAML mapping, after merge keys (`<<`) are applied.
struct MappingEntry {
    /// The key as written.
    var key: String
    /// The key's node, for error positions.
    var keyNode: Node
    /// The value's node.
    var value: Node
}

/// The known keys of a mapping, found by name.
struct Fields {
    /// The mapping itself, for "missing field" positions.
    var node: Node
    /// The mapping's dotted path.
    var path: String
    /// The entries by key.
    var entries: [String: MappingEntry]

    subscript(_ name: String) -> Node? { entries[name]?.value }

    /// The dotted path of one of this mapping's fields.
    func path(_ name: String) -> String { Fields.join(path, name) }

    static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
}

/// Reads typed values out of a Yams node tree; every failure names the file, line and field.
struct NodeReader {
    /// The file name errors carry.
    var file: String
    /// Maps positions back through `${VAR}` expansion, when it changed the text.
    var sourceMap: SourceMap?

    /// The node's line and column in the file as written.
    func position(_ node: Node?) -> (line: Int, column: Int)? {
        guard let mark = node?.mark else { return nil }
        return sourceMap?.original(line: mark.line, column: mark.column) ?? (mark.line, mark.column)
    }

    func error(_ node: Node?, _ field: String?, _ message: String) -> StackError {
        let position = position(node)
        return StackError(
            file: file, line: position?.line, column: position?.column, field: field?.isEmpty == true ? nil : field,
            message: message)
    }

    /// The error for a value of the wrong shape.
    func typeError(_ node: Node, _ field: String, expected: String) -> StackError {
        error(node, field, "expected \(expected), found \(NodeReader.describe(node))")
    }

    /// "a string", "a list", … for messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch tagName(node) {
            case .null: return "an empty value"
            case .bool: return "the boolean `\(scalar.string)`"
            case .int, .float: return "the number `\(scalar.string)`"
            default: return "the string `\(scalar.string)`"
            }
        }
    }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return tagName(node) == .null }
        return false
    }

    /// The entries of a mapping in file order, with `<<` merges applied; an empty value has none.
    func entries(_ node: Node, _ path: String) throws(StackError) -> [MappingEntry] {
        if NodeReader.isNull(node) { return [] }
        guard case .mapping(let mapping) = node else { throw typeError(node, path, expected: "a mapping") }
        var explicit = Set<String>()
        for (key, _) in mapping where tagName(key) != .merge { explicit.insert(try keyString(key, path)) }
        var out: [MappingEntry] = []
        var seen = Set<String>()
        for (key, value) in mapping {
            guard tagName(key) == .merge else {
                let name = try keyString(key, path)
                out.append(MappingEntry(key: name, keyNode: key, value: value))
                seen.insert(name)
                continue
            }
            let sources: [Node]
            switch value {
            case .mapping: sources = [value]
            case .sequence(let sequence): sources = Array(sequence)
            default: throw typeError(value, Fields.join(path, "<<"), expected: "a mapping or a list of mappings")
            }
            for source in sources {
                guard case .mapping = source else {
                    throw typeError(source, Fields.join(path, "<<"), expected: "a mapping")
                }
                for entry in try entries(source, path) where !explicit.contains(entry.key) && !seen.contains(entry.key) {
                    out.append(entry)
                    seen.insert(entry.key)
                }
            }
        }
        return out
    }

    private func keyString(_ key: Node, _ path: String) throws(StackError) -> String {
        guard case .scalar(let scalar) = key else {
            throw error(key, path.isEmpty ? nil : path, "keys must be plain values, found \(NodeReader.describe(key))")
        }
        return scalar.string
    }

    /// A mapping whose keys must all be in `known`; anything else is an unknown field.
    func fields(_ node: Node, _ path: String, known: [String]) throws(StackError) -> Fields {
        var found: [String: MappingEntry] = [:]
        for entry in try entries(node, path) {
            guard known.contains(entry.key) else {
                var message = "unknown field"
                if let guess = suggestion(for: entry.key, among: known) {
                    message += " (did you mean `\(guess)`?)"
                } else {
                    message += " (known fields: \(known.joined(separator: ", ")))"
                }
                throw error(entry.keyNode, Fields.join(path, entry.key), message)
            }
            found[entry.key] = entry
        }
        return Fields(node: node, path: path, entries: found)
    }

    /// A scalar's text as written (numbers and booleans included); `nil` for an empty value.
    func string(_ node: Node?, _ path: String) throws(StackError) -> String? {
        guard let node, !NodeReader.isNull(node) else { return nil }
        guard case .scalar(let scalar) = node else { throw typeError(node, path, expected: "a string") }
        return scalar.string
    }

    /// A list of scalars as text; an empty value is an empty list, an empty item an empty string.
    func stringList(_ node: Node?, _ path: String) throws(StackError) -> [String] {
        guard let node, !NodeReader.isNull(node) else { return [] }
        guard case .sequence(let sequence) = node else { throw typeError(node, path, expected: "a list of strings") }
        var out: [String] = []
        for (index, item) in sequence.enumerated() {
            out.append(try string(item, "\(path)[\(index)]") ?? "")
        }
        return out
    }

    /// A mapping of scalars as text (`PORT: 8080` gives `"8080"`); an empty value is an empty string.
    func stringMap(_ node: Node?, _ path: String) throws(StackError) -> [String: String] {
        guard let node else { return [:] }
        var out: [String: String] = [:]
        for entry in try entries(node, path) {
            out[entry.key] = try string(entry.value, Fields.join(path, entry.key)) ?? ""
        }
        return out
    }

    /// A YAML 1.1 boolean (`true`, `false`, `yes`, `no`, `on`, `off`, `y`, `n`); empty is `false`.
    func bool(_ node: Node?, _ path: String) throws(StackError) -> Bool {
        guard let node, !NodeReader.isNull(node) else { return false }
        if case .scalar(let scalar) = node, tagName(node) != .str || scalar.style == .plain {
            switch scalar.string {
            case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": return true
            case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": return false
            default: break
            }
        }
        throw typeError(node, path, expected: "true or false")
    }
}

/// The node's resolved tag (`!!str`, `!!int`, `!!null`, `!!merge`, …).
func tagName(_ node: Node) -> Tag.Name { Resolver.default.resolveTag(of: node) }

/// The known name closest to `name` (ignoring case, `-` versus `_`), when it is close enough.
func suggestion(for name: String, among known: [String]) -> String? {
    let aliases = ["env": "environment", "language": "lang", "envs": "environment", "environment_files": "environment_file"]
    if let alias = aliases[name.lowercased()], known.contains(alias) { return alias }
    func normal(_ s: String) -> [Character] { s.lowercased().map { $0 == "-" ? "_" : $0 } }
    let target = normal(name)
    let limit = max(1, min(3, target.count / 3))
    var best: (name: String, distance: Int)?
    for candidate in known {
        let distance = editDistance(target, normal(candidate))
        if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
    }
    return best?.name
}

/// Edit distance counting insertions, deletions, substitutions and adjacent swaps.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var best = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { best = min(best, table[i - 2][j - 2] + 1) }
            table[i][j] = best
        }
    }
    return table[a.count][b.count]
}
