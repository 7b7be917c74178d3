/// A function's name in its namespace: the name a DNS-1123 label, as OpenFaaS requires (lowercase
/// letters, digits, `-`), the namespace one too. Two functions of the same name in two namespaces
/// are two functions; callers address them as `name.namespace` (`name` alone: the default namespace).
public struct FunctionName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The OpenFaaS default namespace for functions.
    public static let defaultNamespace = "openfaas-fn"

    /// The validated name, without its namespace (OpenFaaS's `name` field).
    public let rawValue: String
    /// The namespace the function lives in.
    public let namespace: String
    /// A published version (`3`) or an alias (`prod`) of the function; `nil` is the function as last
    /// deployed (`$LATEST`). Written after a colon: `name:3`, `name.namespace:prod`.
    public let qualifier: String?
    /// Whether this name addresses an alias (`name:prod`): kept, not parsed, as calls check it.
    public let isAlias: Bool

    /// Checks `name` and `namespace` and keeps them; the error says what is wrong.
    public init(_ name: String, namespace: String = FunctionName.defaultNamespace) throws(ModelError) {
        if let problem = FunctionName.problem(with: name) {
            throw ModelError.invalidFunctionName(name, problem)
        }
        if let problem = FunctionName.problem(with: namespace) {
            throw ModelError.invalidNamespace(namespace, problem)
        }
        rawValue = name
        self.namespace = namespace
        qualifier = nil
        isAlias = false
        qualified = namespace == FunctionName.defaultNamespace ? name : "\(name).\(namespace)"
    }

    /// `base` qualified by a version number or an alias name.
    public init(_ base: FunctionName, qualifier: String) throws(ModelError) {
        if let problem = FunctionName.qualifierProblem(qualifier) { throw ModelError.invalidQualifier(qualifier, problem) }
        rawValue = base.rawValue
        namespace = base.namespace
        self.qualifier = qualifier
        isAlias = Int(qualifier) == nil
        let unqualified = base.namespace == FunctionName.defaultNamespace ? base.rawValue : "\(base.rawValue).\(base.namespace)"
        qualified = unqualified + ":" + qualifier
    }

    /// Parses an address a call names: `name`, `name.namespace`, either followed by `:VERSION` or `:ALIAS`.
    public init(address text: String) throws(ModelError) {
        guard let colon = text.lastIndex(of: ":") else {
            try self.init(parsing: text)
            return
        }
        try self.init(FunctionName(parsing: String(text[..<colon])), qualifier: String(text[text.index(after: colon)...]))
    }

    /// The function itself, without version or alias.
    public var base: FunctionName {
        guard qualifier != nil else { return self }
        // Both parts were checked when this name was made.
        return (try? FunctionName(rawValue, namespace: namespace)) ?? self
    }

    /// The version number this name addresses (`name:3`), if it is one.
    public var version: Int? { qualifier.flatMap { Int($0) } }

    /// Why `text` is neither a version number (1 or more) nor an alias name, or `nil`.
    public static func qualifierProblem(_ text: String) -> String? {
        if let first = text.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            guard let number = Int(text), number > 0, String(number) == text else { return "a version is a whole number from 1" }
            return nil
        }
        return aliasProblem(text)
    }

    /// Why `text` cannot name an alias, or `nil`: a DNS-1123 label starting with a letter (never a number).
    public static func aliasProblem(_ text: String) -> String? {
        if text == "$LATEST" || text == "latest" { return "'\(text)' is the function itself (call it without a qualifier)" }
        return problem(with: text)
    }

    /// Parses an address as callers write it: `name` or `name.namespace`.
    public init(parsing text: String) throws(ModelError) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        try self.init(String(parts[0]), namespace: parts.count == 2 ? String(parts[1]) : FunctionName.defaultNamespace)
    }

    /// Parses `name` or `name.namespace` as an OpenFaaS request names a function, with the namespace
    /// in a field or query parameter of its own (`nil` or empty: none given).
    public init(parsing text: String, namespace: String?) throws(ModelError) {
        try self.init(parsing: text)
        if let namespace, !namespace.isEmpty, namespace != self.namespace {
            guard !text.contains(".") else { throw .invalidNamespace(namespace, "'\(text)' is in namespace '\(self.namespace)'") }
            try self.init(rawValue, namespace: namespace)
        }
    }

    /// Why `name` is not a valid function (or namespace) name, or `nil` when it is.
    public static func problem(with name: String) -> String? {
        guard !name.isEmpty else { return "it is empty" }
        guard name.utf8.count <= 63 else { return "it is longer than 63 characters" }
        guard let first = name.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else {
            return "it must start with a lowercase letter"
        }
        guard name.utf8.last != UInt8(ascii: "-") else { return "it must not end with '-'" }
        for byte in name.utf8 {
            let ok = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
            if !ok { return "only lowercase letters, digits and '-' are allowed" }
        }
        return nil
    }

    /// Whether the function lives in the default namespace.
    public var isInDefaultNamespace: Bool { namespace == FunctionName.defaultNamespace }

    /// The function's address and key: `name` in the default namespace, `name.namespace` elsewhere
    /// (what `/function/…` takes, and what the store, logs, metrics and queue key it by). Kept, not
    /// built: metrics read it on every call.
    public let qualified: String

    public var description: String { qualified }

    // The address alone identifies a function (names and namespaces hold no '.').
    public static func == (lhs: FunctionName, rhs: FunctionName) -> Bool { lhs.qualified == rhs.qualified }

    public func hash(into hasher: inout Hasher) { hasher.combine(qualified) }

    public static func < (lhs: FunctionName, rhs: FunctionName) -> Bool {
        if (lhs.namespace, lhs.rawValue) != (rhs.namespace, rhs.rawValue) { return (lhs.namespace, lhs.rawValue) < (rhs.namespace, rhs.rawValue) }
        // The function itself first, then its versions by number, then its aliases by name.
        switch (lhs.qualifier, rhs.qualifier) {
        case (nil, nil), (_, nil): return false
        case (nil, _): return true
        case let (l?, r?):
            switch (Int(l), Int(r)) {
            case let (a?, b?): return a < b
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return l < r
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do { try self.init(address: raw) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(qualified)
    }
}
