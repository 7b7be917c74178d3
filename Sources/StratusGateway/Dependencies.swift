import Foundation
import Hummingbird
import Logging
import StratusInvoker
import StratusModel
import StratusStore
import StratusWasm
import Synchronization

/// What the handlers share: the store, the invoker, the settings.
struct Dependencies: Sendable {
    let registry: any FunctionRegistry
    /// Published versions and aliases.
    let versions: any VersionStore
    let artifacts: any ArtifactStore
    let logStore: any LogStore
    let secrets: any SecretStore
    let namespaces: any NamespaceStore
    /// This node's view of the cluster: the live nodes, its own heartbeat.
    let cluster: ClusterSync
    let invoker: Invoker
    let configuration: GatewayConfiguration
    let logger: Logger
    /// Turns deployments into checked plans (secrets, layers, models resolved).
    let planner: DeployPlanner
    let removeSecretsFolder: @Sendable (FunctionName) -> Void
    /// Ends the followed logs of a function that was removed.
    let endLogFollowers: @Sendable (FunctionName) -> Void
    /// The static sites served under /sites/.
    let sites: SiteDirectory
    /// Published layers and the folders functions see at /opt.
    let layers: LayerDirectory
    /// Prometheus metrics; the source of invocation counts.
    let metrics: GatewayMetrics
    /// Calls running now, all functions together, against `--max-inflight`.
    let inflight: InflightLimiter
    /// Serializes deploys, removals and cluster reconciles.
    let managementGate: SerialGate
    /// Fires timer triggers; describes them.
    let timers: TimerScheduler
}

/// Counts calls in progress against a server-wide limit.
final class InflightLimiter: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes a slot; `false` (taking nothing) when all `limit` are in use.
    func enter() -> Bool {
        if count.add(1, ordering: .relaxed).newValue <= limit { return true }
        count.subtract(1, ordering: .relaxed)
        return false
    }

    func leave() { count.subtract(1, ordering: .relaxed) }

    /// Calls running now.
    var current: Int { max(0, count.load(ordering: .relaxed)) }
}

/// JSON in and out the way OpenFaaS clients expect (RFC 3339 dates).
enum JSON {
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, what: String) throws -> T {
        guard buffer.readableBytes > 0 else { throw GatewayError.badRequest("empty body: expected a JSON \(what)") }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch let DecodingError.keyNotFound(key, _) {
            throw GatewayError.badRequest("invalid \(what): missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw GatewayError.badRequest("invalid \(what): wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw GatewayError.badRequest("invalid \(what): the body is not valid JSON")
        }
    }
}

extension Request {
    /// Collects the body, answering 413 past the gateway's limit.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw GatewayError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
        }
    }
}
