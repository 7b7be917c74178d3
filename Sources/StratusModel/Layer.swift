public import Foundation

/// A published layer version: a content-addressed tar.gz bundle that functions see read-only
/// under `/opt` (AWS Lambda and Tencent SCF layers).
public struct LayerRecord: Codable, Sendable, Equatable {
    public var name: String
    /// 1, 2, 3…: each publish of new contents adds one; the same contents again keep their version.
    public var version: Int
    public var digest: Digest
    public var size: Int
    public var createdAt: Date

    public init(name: String, version: Int, digest: Digest, size: Int, createdAt: Date) {
        self.name = name
        self.version = version
        self.digest = digest
        self.size = size
        self.createdAt = createdAt
    }

    /// `name:version`, as functions list it once deployed.
    public var reference: String { "\(name):\(version)" }
}

/// One entry of a function's layer list: `name` (the latest version at deploy time) or `name:version`.
public struct LayerReference: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var version: Int?

    /// Annotation listing a function's layers in order, comma-separated (`deps:2, tools`); later
    /// layers' files win over earlier ones', as in Lambda.
    public static let annotation = "com.stratus.layers"

    public init(name: String, version: Int?) {
        self.name = name
        self.version = version
    }

    public init(parsing text: String) throws(ModelError) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let first = parts.first else { throw .invalidLimit(Self.annotation, text) }
        if let problem = FunctionName.problem(with: String(first)) {
            throw .invalidLimit(Self.annotation, "\(text) (a layer is named like a function: \(problem))")
        }
        name = String(first)
        if parts.count == 2 {
            guard let number = Int(parts[1]), number > 0 else { throw .invalidLimit(Self.annotation, "\(text) (the version is a positive number)") }
            version = number
        }
    }

    /// The references in a `com.stratus.layers` value; empty for none.
    public static func list(_ text: String?) throws(ModelError) -> [LayerReference] {
        guard let text else { return [] }
        var result: [LayerReference] = []
        for part in text.split(separator: ",") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            result.append(try LayerReference(parsing: String(part)))
        }
        return result
    }

    public var description: String { version.map { "\(name):\($0)" } ?? name }
}
