/// A function's name: a DNS-1123 label, as OpenFaaS requires (lowercase letters, digits, `-`).
public struct FunctionName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The validated name.
    public let rawValue: String

    /// Checks `name` and keeps it; the error says what is wrong with it.
    public init(_ name: String) throws(ModelError) {
        if let problem = FunctionName.problem(with: name) {
            throw ModelError.invalidFunctionName(name, problem)
        }
        rawValue = name
    }

    /// Why `name` is not a valid function name, or `nil` when it is.
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

    public var description: String { rawValue }

    public static func < (lhs: FunctionName, rhs: FunctionName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do { try self.init(raw) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A function's address as callers write it: `name` or `name.namespace`.
public struct FunctionReference: Hashable, Sendable {
    /// The OpenFaaS default namespace for functions.
    public static let defaultNamespace = "openfaas-fn"

    public let name: FunctionName
    public let namespace: String

    public init(name: FunctionName, namespace: String = FunctionReference.defaultNamespace) {
        self.name = name
        self.namespace = namespace
    }

    /// Parses `name` or `name.namespace`; only the default namespace exists on a single node.
    public init(parsing text: String) throws(ModelError) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let name = try FunctionName(String(parts[0]))
        let namespace = parts.count == 2 ? String(parts[1]) : FunctionReference.defaultNamespace
        guard namespace == FunctionReference.defaultNamespace else {
            throw ModelError.unknownNamespace(namespace)
        }
        self.init(name: name, namespace: namespace)
    }
}
