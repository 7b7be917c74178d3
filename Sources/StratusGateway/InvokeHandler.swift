import Foundation
import Hummingbird
import StratusInvoker
import StratusModel

/// `/function/{name}` and `/function/{name}/{path…}` for any method: runs the function.
struct InvokeHandler {
    let dependencies: Dependencies
    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    func register(on router: Router<BasicRequestContext>) {
        for method in Self.methods {
            router.on("function/{name}", method: method) { request, context in
                try await invoke(request, name: context.parameters.get("name") ?? "", path: "/")
            }
            router.on("function/{name}/**", method: method) { request, context in
                let rest = context.parameters.getCatchAll().joined(separator: "/")
                return try await invoke(request, name: context.parameters.get("name") ?? "", path: "/" + rest)
            }
        }
    }

    func invoke(_ request: Request, name rawName: String, path: String) async throws -> Response {
        let start = Date()
        let callID = request.headers[.init("X-Call-Id")!] ?? UUID().uuidString
        let name: FunctionName
        do { name = try FunctionReference(parsing: rawName).name } catch {
            throw GatewayError.notFound("error finding function \(rawName): \(error)")
        }
        guard dependencies.invoker.isReady(name) else {
            throw GatewayError.notFound("error finding function \(rawName): not deployed")
        }
        let body = try await request.collectBody(limit: dependencies.configuration.maxRequestBytes)
        let invocation = InvocationRequest(
            method: request.method.rawValue, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: Array(body.readableBytesView), callID: callID)
        let result: InvocationResult
        do {
            result = try await dependencies.invoker.invoke(name, invocation)
        } catch {
            throw GatewayError.from(error)
        }
        var headers: HTTPFields = [:]
        headers[.init("X-Call-Id")!] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = String(format: "%.6f", Date().timeIntervalSince(start))
        if let type = result.contentType { headers[.contentType] = type }
        return Response(status: .init(code: result.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
    }
}
