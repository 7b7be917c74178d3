/// A secret's name: lowercase letters, digits, `-`, `_` and `.`, starting and ending with a letter
/// or digit, never `..` — it becomes a file name under `/var/openfaas/secrets/`.
public struct SecretName: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ name: String) throws(ModelError) {
        let bytes = Array(name.utf8)
        func isAlphanumeric(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard !bytes.isEmpty, bytes.count <= 253, isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }),
            !name.contains("..")
        else { throw ModelError.invalidSecretName(name) }
        rawValue = name
    }

    public var description: String { rawValue }
}

/// The body of `POST/PUT/DELETE /system/secrets` (OpenFaaS `Secret`): `value` as text or `rawValue` as base64.
public struct SecretRequest: Codable, Sendable, Equatable {
    public var name: String
    public var namespace: String?
    public var value: String?
    public var rawValue: String?

    public init(name: String, value: String? = nil, rawValue: String? = nil) {
        self.name = name
        self.value = value
        self.rawValue = rawValue
    }
}
