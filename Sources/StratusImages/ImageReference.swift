public import StratusModel

/// A container image reference as OpenFaaS users write it: `REGISTRY/REPO[:TAG]` or
/// `REGISTRY/REPO@sha256:…` (Docker Hub's short names, `alpine` or `org/fn`, name `docker.io`).
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// `host[:port]`.
    public let registry: String
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    /// Parses `text`; `nil` when it is not an image reference at all.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 512, !text.contains(".."), !text.contains("//"),
            text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0 != "\\" })
        else { return nil }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            guard let parsed = try? Digest(String(rest[rest.index(after: at)...])), rest[rest.index(after: at)...].hasPrefix("sha256:") else { return nil }
            digest = parsed
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        // The first part is a registry when it looks like a host (a dot, a port, or localhost).
        if parts.count > 1, parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" {
            registry = parts[0]
            repository = parts.dropFirst().joined(separator: "/")
        } else {
            registry = "docker.io"
            repository = parts.count == 1 ? "library/" + parts[0] : parts.joined(separator: "/")
        }
        let repositoryOK = repository.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 || $0 == 47 }
        guard repositoryOK, tag.map({ !$0.isEmpty && $0.utf8.count <= 128 }) ?? true else { return nil }
        self.tag = digest == nil ? (tag ?? "latest") : tag
        self.digest = digest
    }

    /// Whether `text` names a registry explicitly (`host/…`), so it cannot be one of Stratus's own
    /// artifact names: only these are pulled.
    public static func namesRegistry(_ text: String) -> Bool {
        guard let first = text.split(separator: "/").first, text.contains("/") else { return false }
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    /// `registry/repository` with the tag or digest, as skopeo's `docker://` transport takes it.
    public var description: String {
        if let digest { return "\(registry)/\(repository)@\(digest)" }
        return "\(registry)/\(repository):\(tag ?? "latest")"
    }

    /// The same image pinned to `digest`.
    public func pinned(to digest: Digest) -> String { "\(registry)/\(repository)@\(digest)" }
}
