import Foundation
import Hummingbird
import StratusInvoker
import StratusModel
import StratusStore

/// The web UI: `/` redirects to `/ui/`, which serves the page and its script and styles (embedded
/// in the binary). The page holds no data: it asks `/system/*` with the credentials the user types
/// into its login form, so the UI is behind the same credentials as the API. `GET /system/stats`
/// gives the per-function numbers the pages show.
struct UIHandlers {
    let dependencies: Dependencies
    let store: any FunctionRegistry

    func registerPublic(on router: Router<StratusRequestContext>) {
        router.get("/") { _, _ in Response(status: .found, headers: [.location: "/ui/"]) }
        // `/ui` and `/ui/` reach the same route; without the slash the page's relative links would miss.
        router.get("ui") { request, _ in
            guard request.uri.path.hasSuffix("/") else { return Response(status: .movedPermanently, headers: [.location: "/ui/"]) }
            return Self.asset(UIAssets.indexHTML, type: "text/html; charset=utf-8")
        }
        router.get("ui/app.js") { _, _ in Self.asset(UIAssets.appJS, type: "text/javascript; charset=utf-8") }
        router.get("ui/style.css") { _, _ in Self.asset(UIAssets.styleCSS, type: "text/css; charset=utf-8") }
    }

    func register(on group: RouterGroup<StratusRequestContext>) {
        let metrics = dependencies.metrics, invoker = dependencies.invoker, store = store
        group.get("stats") { _, _ in
            let specs: [FunctionSpec]
            do throws(StoreError) { specs = try await store.functions() } catch { throw GatewayError.from(error) }
            let functions = specs.map { spec -> FunctionStats in
                let runtime = invoker.kind(spec.name) ?? spec.kind.rawValue
                let replicas = invoker.replicas(spec.name)
                var stats = metrics.stats(spec.name, runtime: runtime, replicas: replicas.desired, available: replicas.available,
                                          deployedAt: spec.updatedAt)
                stats.engine = invoker.engine(spec.name)
                return stats
            }
            return try JSON.response(StatsResponse(functions: functions))
        }
    }

    struct StatsResponse: Encodable { let functions: [FunctionStats] }

    static func asset(_ text: String, type: String) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-cache"]
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Content-Security-Policy")!] = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// One function's numbers for the UI: counts, latency percentiles, and 10-second buckets.
struct FunctionStats: Encodable, Sendable {
    struct Bucket: Encodable, Sendable {
        let t: Int
        let calls: Int
        let errors: Int
        let p50Ms: Double
    }
    let name: String
    let runtime: String
    /// The Wasm engine running it (`wasmtime`, `wasmkit`), for Wasm functions.
    var engine: String?
    let replicas: Int
    let availableReplicas: Int
    let invocations: Int
    let errors: Int
    let errorRate: Double
    let p50Ms: Double?
    let p95Ms: Double?
    let deployedAt: Date?
    let series: [Bucket]
}
