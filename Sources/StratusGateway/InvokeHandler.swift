import Foundation
import Hummingbird
import StratusInvoker
import StratusModel
import StratusProcess

/// `/function/{name}` and `/function/{name}/{path…}` for any method: runs the function.
struct InvokeHandler {
    let dependencies: Dependencies
    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    func register(on router: Router<StratusRequestContext>) {
        for method in Self.methods {
            router.on("function/{name}", method: method) { request, context in
                try await invoke(request, name: context.parameters.get("name") ?? "", path: "/", callID: context.callID)
            }
            router.on("function/{name}/**", method: method) { request, context in
                let rest = context.parameters.getCatchAll().joined(separator: "/")
                return try await invoke(request, name: context.parameters.get("name") ?? "", path: "/" + rest, callID: context.callID)
            }
        }
    }

    func invoke(_ request: Request, name rawName: String, path: String, callID: String) async throws -> Response {
        // The server-wide cap: past it, callers get 503 at once instead of the server running out of memory.
        let limiter = dependencies.inflight
        guard limiter.enter() else {
            var error = GatewayError(.serviceUnavailable, "the server is running its limit of \(limiter.limit) calls at once; retry shortly")
            error.headers[.retryAfter] = "1"
            throw error
        }
        defer { limiter.leave() }
        let start = Date()
        let name: FunctionName
        do { name = try FunctionReference(parsing: rawName).name } catch {
            throw GatewayError.notFound("error finding function \(rawName): \(error)")
        }
        guard let mode = dependencies.invoker.callMode(name) else {
            throw GatewayError.notFound("error finding function \(rawName): not deployed")
        }
        if mode == .streamed {
            return try await forward(request, name: name, path: path, callID: callID, start: start)
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
        headers[.callID] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = String(format: "%.6f", Date().timeIntervalSince(start))
        if let type = result.contentType { headers[.contentType] = type }
        for (name, value) in result.headers {
            // An integration response may set headers, but not the framing ones.
            guard let field = HTTPFields.Element.Name(name), !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()) else { continue }
            headers[field] = value
        }
        return Response(status: .init(code: result.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
    }

    /// An http-mode call: the body streams to a replica and its answer streams back, never held whole.
    ///
    /// The request body has one reader, this handler: a child task moves it chunk by chunk into a
    /// stream the proxy uploads from, and the handler returns only once the whole body has been read
    /// (Hummingbird drains an unread body after the response, and two readers must never meet).
    /// The stream holds at most the body-size limit when the function reads slower than the caller sends.
    func forward(_ request: Request, name: FunctionName, path: String, callID: String, start: Date) async throws -> Response {
        let limit = dependencies.configuration.maxRequestBytes
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            throw GatewayError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        let invocation = InvocationRequest(
            method: request.method.rawValue, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: [], callID: callID)
        let (upload, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        async let overLimit = Self.pump(request.body, into: feed, limit: limit)
        let response: ProxyResponse
        do {
            response = try await dependencies.invoker.forward(name, invocation, body: upload, contentLength: length)
        } catch {
            _ = await overLimit
            throw GatewayError.from(error)
        }
        if await overLimit {
            throw GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
        }
        var headers: HTTPFields = [:]
        for (field, value) in response.headers {
            if let name = HTTPFields.Element.Name(field) { headers.append(.init(name: name, value: value)) }
        }
        headers[.callID] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = String(format: "%.6f", Date().timeIntervalSince(start))
        return Response(status: .init(code: response.status), headers: headers, body: ResponseBody(asyncSequence: response.body))
    }

    /// Reads the request body into `feed`; `true` when it ran past `limit` (the upload then fails).
    static func pump(_ body: RequestBody, into feed: AsyncThrowingStream<ByteBuffer, any Error>.Continuation, limit: Int) async -> Bool {
        var count = 0
        do {
            for try await chunk in body {
                count += chunk.readableBytes
                if count > limit {
                    feed.finish(throwing: GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes"))
                    return true
                }
                feed.yield(chunk)
            }
            feed.finish()
        } catch {
            feed.finish(throwing: error)
        }
        return false
    }
}
