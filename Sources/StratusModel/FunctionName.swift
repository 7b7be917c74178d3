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
        qualified = namespace == FunctionName.defaultNamespace ? name : "\(name).\(namespace)"
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
        (lhs.namespace, lhs.rawValue) < (rhs.namespace, rhs.rawValue)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do { try self.init(parsing: raw) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(qualified)
    }
}
