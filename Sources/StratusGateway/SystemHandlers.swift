import Foundation
import Hummingbird
import StratusModel
import StratusStore

/// `GET /system/info`, `GET /system/openapi.yaml`, `GET /system/nodes`, `GET /healthz`.
struct SystemHandlers {
    let dependencies: Dependencies

    func registerPublic(on router: Router<StratusRequestContext>) {
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "OK")))
        }
    }

    func register(on group: RouterGroup<StratusRequestContext>) {
        let version = dependencies.configuration.version, commit = dependencies.configuration.commit
        group.get("info") { _, _ in
            #if arch(x86_64)
            let arch = "x86_64"
            #elseif arch(arm64)
            let arch = "arm64"
            #else
            let arch = "unknown"
            #endif
            return try JSON.response(GatewayInfo(release: version, sha: commit, arch: arch))
        }
        // The live nodes of the cluster (this one alone on the embedded store), by name.
        let cluster = dependencies.cluster
        group.get("nodes") { _, _ in
            let live: [NodeRecord]
            do throws(StoreError) { live = try await cluster.liveNodes() } catch { throw GatewayError.from(error) }
            return try JSON.response(live)
        }
        // Container images pulled on this node, with the functions that run each.
        let planner = dependencies.planner, registry = dependencies.registry
        group.get("images") { _, _ in
            let pulled = await planner.images?.images() ?? []
            let specs: [FunctionSpec]
            do throws(StoreError) { specs = try await registry.functions() } catch { throw GatewayError.from(error) }
            let entries = pulled.map { image in
                ImageEntry(reference: image.reference, digest: image.digest.description, architecture: image.architecture, size: image.size,
                           pulledAt: image.pulledAt, functions: specs.filter { $0.imageDigest == image.digest }.map(\.name.qualified).sorted())
            }
            return try JSON.response(entries)
        }
        // The API's description (docs/openapi.yaml, compiled in).
        group.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }
}

/// One entry of `GET /system/images`.
struct ImageEntry: Encodable, Sendable {
    let reference: String
    let digest: String
    let architecture: String
    let size: Int
    let pulledAt: Date
    let functions: [String]
}
