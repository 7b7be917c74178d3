/// A secret's name: lowercase letters, digits, `-`, `_` and `.`, starting and ending with a letter
/// or digit, never `..` — it becomes a file name under `/var/openfaas/secrets/`. A secret lives in a
/// namespace, as in OpenFaaS: only functions of that namespace can use it.
public struct SecretName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public let namespace: String

    public init(_ name: String, namespace: String = FunctionName.defaultNamespace) throws(ModelError) {
        if let problem = FunctionName.problem(with: namespace) { throw ModelError.invalidNamespace(namespace, problem) }
        let bytes = Array(name.utf8)
        func isAlphanumeric(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard !bytes.isEmpty, bytes.count <= 253, isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }),
            !name.contains("..")
        else { throw ModelError.invalidSecretName(name) }
        rawValue = name
        self.namespace = namespace
    }

    public var description: String { rawValue }
}

/// The body of `POST/PUT/DELETE /system/secrets` (OpenFaaS `Secret`): `value` as text or `rawValue` as base64.
public struct SecretRequest: Codable, Sendable, Equatable {
    public var name: String
    public var namespace: String?
    public var value: String?
    public var rawValue: String?

    public init(name: String, namespace: String? = nil, value: String? = nil, rawValue: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.value = value
        self.rawValue = rawValue
    }
}
