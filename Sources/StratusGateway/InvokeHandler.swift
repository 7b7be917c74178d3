import Foundation
import HTTPTypes
import Hummingbird
import StratusInvoker
import StratusModel
import StratusProcess
import Synchronization

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
        let address: FunctionName
        do { address = try FunctionName(address: rawName) } catch {
            throw GatewayError.notFound("error finding function \(rawName): \(error)")
        }
        // An alias becomes the version it picks for this call here, once.
        guard let (name, mode) = dependencies.invoker.route(address, callID: callID) else {
            throw GatewayError.notFound("error finding function \(rawName): not deployed")
        }
        if mode == .streamed {
            return try await forward(request, name: name, path: path, callID: callID, start: start)
        }
        let body = try await Self.collect(request, limit: dependencies.configuration.maxRequestBytes)
        let invocation = InvocationRequest(
            method: request.method.rawValue, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: body, callID: callID)
        let result: InvocationResult
        do {
            result = try await dependencies.invoker.invoke(name, invocation)
        } catch {
            throw GatewayError.from(error)
        }
        var headers: HTTPFields = [:]
        headers[.callID] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = sixDecimalSeconds(Date().timeIntervalSince(start))
        if let type = result.contentType { headers[.contentType] = type }
        for (name, value) in result.headers {
            // An integration response may set headers, but not the framing ones.
            guard let field = HTTPFields.Element.Name(name), !["content-length", "transfer-encoding", "connection"].contains(name.lowercased()) else { continue }
            headers[field] = value
        }
        return Response(status: .init(code: result.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
    }

    /// The whole request body, read straight into the one array the function gets (no buffer in between).
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            throw GatewayError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length ?? 0)
        for try await chunk in request.body {
            guard bytes.count + chunk.readableBytes <= limit else {
                throw GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
            }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }

    /// A streamed call (http mode, raw classic): the body goes to the function as it arrives and
    /// its answer streams back, neither held whole.
    ///
    /// The request body has one reader, a task of this call's that moves it chunk by chunk into a
    /// pipe the function reads from (holding a window of it when the function reads slower than the
    /// caller sends). The response ends only once that task has stopped: Hummingbird drains an
    /// unread body after the response, and two readers must never meet.
    func forward(_ request: Request, name: FunctionName, path: String, callID: String, start: Date) async throws -> Response {
        let limit = dependencies.configuration.maxRequestBytes
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            throw GatewayError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        let invocation = InvocationRequest(
            method: request.method.rawValue, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: [], callID: callID)
        let pipe: ChunkPipe
        let overLimit = OverLimit()
        let reading: Task<Void, Never>?
        if let length, length <= Self.readFirst {
            // A small body is read before the call, and goes to the function in one piece.
            pipe = ChunkPipe(whole: try await request.collectBody(limit: length))
            reading = nil
        } else {
            pipe = ChunkPipe()
            reading = Task { [pipe] in await Self.pump(request.body, into: pipe, limit: limit, overLimit: overLimit) }
        }
        let response: ProxyResponse
        do {
            response = try await dependencies.invoker.forward(name, invocation, body: pipe, contentLength: length)
        } catch {
            pipe.readerDone()
            await reading?.value
            throw GatewayError.from(error)
        }
        if overLimit.isSet {
            await reading?.value
            throw GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
        }
        var headers: HTTPFields = [:]
        for (field, value) in response.headers {
            if let name = HTTPFields.Element.Name(field) { headers.append(.init(name: name, value: value)) }
        }
        headers[.callID] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = sixDecimalSeconds(Date().timeIntervalSince(start))
        let answer = response.body
        let body = ResponseBody(contentLength: answer.whole?.readableBytes) { writer in
            do {
                for try await chunk in answer { try await writer.write(chunk) }
            } catch {
                pipe.readerDone()
                await reading?.value
                throw error
            }
            // The answer is complete: what the function did not read of the body is not wanted.
            pipe.readerDone()
            await reading?.value
            try await writer.finish(nil)
        }
        return Response(status: .init(code: response.status), headers: headers, body: body)
    }

    /// Bodies up to this size (with a Content-Length) are read before the call starts.
    static let readFirst = 64 * 1024

    /// Whether a streamed body ran past the limit.
    final class OverLimit: Sendable {
        private let flag = Atomic(false)
        var isSet: Bool { flag.load(ordering: .acquiring) }
        func set() { flag.store(true, ordering: .releasing) }
    }

    /// Reads the request body into `pipe` until it ends, runs past `limit` (the pipe then fails, and
    /// `overLimit` is set first), or the function wants no more of it.
    static func pump(_ body: RequestBody, into pipe: ChunkPipe, limit: Int, overLimit: OverLimit) async {
        var count = 0
        do {
            for try await chunk in body {
                count += chunk.readableBytes
                if count > limit {
                    overLimit.set()
                    pipe.finish(throwing: GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes"))
                    return
                }
                guard await pipe.send(chunk) else { return }
            }
            pipe.finish()
        } catch {
            pipe.finish(throwing: error)
        }
    }
}
