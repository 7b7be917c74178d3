public import StratusModel
public import Foundation

/// Where deployed functions are kept; survives restarts.
public protocol FunctionRegistry: Sendable {
    /// Inserts or replaces the function with `spec.name`, atomically.
    func saveFunction(_ spec: FunctionSpec) async throws(StoreError)
    func function(named name: FunctionName) async throws(StoreError) -> FunctionSpec?
    /// Every function, ordered by name.
    func functions() async throws(StoreError) -> [FunctionSpec]
    /// Removes the function; `false` when there was none.
    func removeFunction(named name: FunctionName) async throws(StoreError) -> Bool
}

/// A stored artifact: content-addressed bytes, optionally known under `name:tag`.
public struct ArtifactRecord: Sendable, Equatable {
    public var digest: Digest
    public var size: Int
    public var createdAt: Date

    public init(digest: Digest, size: Int, createdAt: Date) {
        self.digest = digest
        self.size = size
        self.createdAt = createdAt
    }
}

/// Content-addressed artifact blobs with `name:tag` aliases.
public protocol ArtifactStore: Sendable {
    /// Stores `bytes` under their sha256 (idempotent) and points `name` at them when given.
    func putArtifact(_ bytes: [UInt8], name: ArtifactName?) async throws(StoreError) -> ArtifactRecord
    /// Resolves `sha256:…` or `name[:tag]` to a stored artifact, or `nil`.
    func resolveArtifact(_ reference: String) async throws(StoreError) -> ArtifactRecord?
    /// The bytes of a stored artifact, verified against its digest.
    func artifactBytes(_ digest: Digest) async throws(StoreError) -> [UInt8]
}

/// Failures of the store; the message is safe to show to the user.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case database(String)
    /// A write would store a second record under a key that must be unique (e.g. an async call's id).
    case duplicate(String)
    case io(String)
    case missingArtifact(Digest)
    case corruptArtifact(Digest)
    case corruptRecord(String)

    public var description: String {
        switch self {
        case .database(let why): "database error: \(why)"
        case .duplicate(let why): "already stored: \(why)"
        case .io(let why): "storage error: \(why)"
        case .missingArtifact(let digest): "artifact \(digest) is not stored"
        case .corruptArtifact(let digest): "artifact \(digest) is corrupt on disk (its bytes no longer match the digest)"
        case .corruptRecord(let why): "stored record is unreadable: \(why)"
        }
    }
}
