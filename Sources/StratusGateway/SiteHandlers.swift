import Foundation
import Hummingbird
import StratusModel

/// Static sites: managed under `/system/sites/{name}` (PUT a tar.gz, GET, DELETE) and served,
/// without credentials like functions, under `/sites/{name}/`.
struct SiteHandlers {
    let dependencies: Dependencies
    let sites: SiteDirectory

    func register(on group: RouterGroup<StratusRequestContext>) {
        let gate = dependencies.managementGate
        group.get("sites") { _, _ in try JSON.response(sites.list()) }
        group.get("sites/{name}") { _, context in
            let name = try Self.name(context.parameters.get("name"))
            guard let status = sites.site(name.rawValue) else { throw GatewayError.notFound("site '\(name)' not found") }
            return try JSON.response(status)
        }
        for method in [HTTPRequest.Method.put, .post] {
            group.on("sites/{name}", method: method) { request, context in
                let name = try Self.name(context.parameters.get("name"))
                let body = try await request.collectBody(limit: dependencies.configuration.maxArtifactBytes)
                guard body.readableBytes > 0 else {
                    throw GatewayError.badRequest("empty body: send the site's folder as a gzip'd tar archive (tar -czf - -C DIR .)")
                }
                let (status, created) = try await gate.run { try await sites.deploy(name, archive: Array(body.readableBytesView)) }
                dependencies.logger.info("site deployed", metadata: ["site": "\(name)", "digest": "\(status.digest)", "files": "\(status.files)"])
                return try JSON.response(status, status: created ? .created : .ok)
            }
        }
        group.delete("sites/{name}") { _, context in
            let name = try Self.name(context.parameters.get("name"))
            guard try await gate.run({ try await sites.remove(name) }) else { throw GatewayError.notFound("site '\(name)' not found") }
            return Response(status: .noContent)
        }
    }

    func registerPublic(on router: Router<StratusRequestContext>) {
        for method in [HTTPRequest.Method.get, .head] {
            router.on("sites/{name}", method: method) { request, context in
                try serve(request, site: context.parameters.get("name") ?? "", segments: [])
            }
            router.on("sites/{name}/**", method: method) { request, context in
                try serve(request, site: context.parameters.get("name") ?? "", segments: context.parameters.getCatchAll().map(String.init))
            }
        }
    }

    static func name(_ raw: String?) throws -> FunctionName {
        do { return try FunctionName(raw ?? "") } catch { throw GatewayError.badRequest("invalid site name: \(error)") }
    }

    func serve(_ request: Request, site: String, segments: [String]) throws -> Response {
        let decoded = segments.map { $0.removingPercentEncoding ?? "\0" }
        switch sites.lookup(site: site, segments: decoded, trailingSlash: request.uri.path.hasSuffix("/")) {
        case .notFound:
            throw GatewayError.notFound(sites.site(site) == nil ? "site '\(site)' not found" : "not found in site '\(site)': \(request.uri.path)")
        case .redirect:
            var headers: HTTPFields = [:]
            headers[.location] = request.uri.path + "/" + (request.uri.query.map { "?" + $0 } ?? "")
            return Response(status: .movedPermanently, headers: headers)
        case .file(let url):
            guard let data = FileManager.default.contents(atPath: url.path) else { throw GatewayError.notFound("cannot read \(request.uri.path)") }
            var headers: HTTPFields = [:]
            headers[.contentType] = Self.contentType(for: url.pathExtension)
            headers[.cacheControl] = "no-cache"
            headers[.init("X-Content-Type-Options")!] = "nosniff"
            let etag = "\"\(sites.site(site)?.digest.dropFirst(7).prefix(20) ?? "")\""
            headers[.eTag] = etag
            if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
            headers[.contentLength] = String(data.count)
            return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    static func contentType(for fileExtension: String) -> String {
        switch fileExtension.lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "json", "map": "application/json"
        case "txt", "md": "text/plain; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "ico": "image/x-icon"
        case "wasm": "application/wasm"
        case "woff2": "font/woff2"
        case "woff": "font/woff"
        default: "application/octet-stream"
        }
    }
}
