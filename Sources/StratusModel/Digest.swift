/// A content address: the SHA-256 of an artifact's bytes, written `sha256:<hex>`.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The 64 lowercase hex digits.
    public let hex: String

    /// Parses `sha256:<hex>` (or bare hex).
    public init(_ text: String) throws(ModelError) {
        let hex = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw ModelError.invalidDigest(text)
        }
        self.hex = hex
    }

    /// Builds a digest from the raw 32 hash bytes.
    public init<Bytes: Sequence>(hashBytes: Bytes) where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in hashBytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        hex = String(decoding: out, as: UTF8.self)
    }

    public var description: String { "sha256:\(hex)" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do { try self.init(raw) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A human name for an uploaded artifact, `name:tag` (tag defaults to `latest`).
public struct ArtifactName: Hashable, Sendable, CustomStringConvertible {
    public let repository: String
    public let tag: String

    public init(_ text: String) throws(ModelError) {
        guard !text.isEmpty, text.utf8.count <= 255, !text.contains(".."), !text.hasPrefix("/") else {
            throw ModelError.invalidArtifactName(text)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts[0].isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw ModelError.invalidArtifactName(text)
        }
        let allowed: (UInt8) -> Bool = {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122)
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "/")
        }
        guard parts.allSatisfy({ $0.utf8.allSatisfy(allowed) }) else { throw ModelError.invalidArtifactName(text) }
        repository = String(parts[0])
        tag = parts.count == 2 ? String(parts[1]) : "latest"
    }

    public var description: String { "\(repository):\(tag)" }
}
