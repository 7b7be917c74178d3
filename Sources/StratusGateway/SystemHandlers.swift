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
        // The API's description (docs/openapi.yaml, compiled in).
        group.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }
}
