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
    /// The shared database cannot be reached now (a cluster's PostgreSQL is down or cut off); try again later.
    case unavailable(String)
    /// The secret key given to this node does not open the store's key check: another key encrypted its secrets.
    case wrongKey(String)

    public var description: String {
        switch self {
        case .database(let why): "database error: \(why)"
        case .duplicate(let why): "already stored: \(why)"
        case .io(let why): "storage error: \(why)"
        case .missingArtifact(let digest): "artifact \(digest) is not stored"
        case .corruptArtifact(let digest): "artifact \(digest) is corrupt on disk (its bytes no longer match the digest)"
        case .corruptRecord(let why): "stored record is unreadable: \(why)"
        case .unavailable(let why): "the store is unavailable: \(why)"
        case .wrongKey(let why): why
        }
    }
}

/// A node of a cluster as it reports itself (every node, also a lone SQLite server, is one).
public struct NodeRecord: Sendable, Equatable, Codable {
    /// The node's name (the pod name on Kubernetes, the host name and port otherwise).
    public var id: String
    /// Where other nodes and operators reach it, e.g. `http://10.0.0.7:8080`.
    public var address: String
    public var version: String
    public var startedAt: Date
    public var heartbeatAt: Date
    /// Functions deployed on this node now.
    public var functions: Int
    /// Calls running on this node now.
    public var inflight: Int

    public init(id: String, address: String, version: String, startedAt: Date, heartbeatAt: Date, functions: Int, inflight: Int) {
        self.id = id
        self.address = address
        self.version = version
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.functions = functions
        self.inflight = inflight
    }
}

/// The `node` table: each node writes a heartbeat; readers see the live ones.
public protocol NodeStore: Sendable {
    /// Inserts or refreshes the node's row.
    func heartbeat(_ node: NodeRecord) async throws(StoreError)
    /// Nodes whose last heartbeat is at or after `since`, by id.
    func nodes(since: Date) async throws(StoreError) -> [NodeRecord]
    /// Forgets nodes silent since before `before` (dead nodes age out); returns how many.
    func removeNodes(silentSince before: Date) async throws(StoreError) -> Int
    /// Removes one node's row (a clean stop).
    func removeNode(_ id: String) async throws(StoreError)
}

/// What another node did that this one may need to act on.
public enum StoreNotification: Sendable, Equatable {
    /// Shared state changed: functions, secrets, namespaces, layers or sites.
    case changed
    /// An async call was enqueued or became due.
    case queued
}

/// How a node learns of changes made through other nodes. A shared store (PostgreSQL) counts
/// every change and notifies listeners; the embedded store has no other writer.
public protocol ChangeFeed: Sendable {
    /// Whether other processes write to this store (a cluster).
    var isShared: Bool { get }
    /// A number that grows with every change to shared state; 0 for a store with no other writer.
    func changeCounter() async throws(StoreError) -> Int64
    /// Notifications from other nodes, as they arrive (reconnecting by itself); never yields for a store with no other writer.
    func notifications() -> AsyncStream<StoreNotification>
}

/// Everything a Stratus server keeps: SQLite (`SQLiteStore`) or PostgreSQL (`PostgresStore`).
public typealias StratusStorage = FunctionRegistry & VersionStore & ArtifactStore & SecretStore & LogStore & QueueStore & TimerStore & LayerStore & SiteStore
    & NamespaceStore & NodeStore & ChangeFeed
