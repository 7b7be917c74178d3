import Foundation
import Hummingbird
import StratusInvoker
import StratusModel
import StratusProcess
import Synchronization

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
        if dependencies.invoker.isStreaming(name) {
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
        headers[.init("X-Call-Id")!] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = String(format: "%.6f", Date().timeIntervalSince(start))
        if let type = result.contentType { headers[.contentType] = type }
        return Response(status: .init(code: result.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
    }

    /// An http-mode call: the body streams to a replica and its answer streams back, never held whole.
    func forward(_ request: Request, name: FunctionName, path: String, callID: String, start: Date) async throws -> Response {
        let limit = dependencies.configuration.maxRequestBytes
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            throw GatewayError(.contentTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        let invocation = InvocationRequest(
            method: request.method.rawValue, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: [], callID: callID)
        let body = LimitedBody(base: request.body, limit: limit)
        let response: ProxyResponse
        do {
            response = try await dependencies.invoker.forward(name, invocation, body: body, contentLength: length)
        } catch {
            throw GatewayError.from(error)
        }
        if body.exceeded.isSet {
            throw GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
        }
        var headers: HTTPFields = [:]
        for (field, value) in response.headers {
            if let name = HTTPFields.Element.Name(field) { headers.append(.init(name: name, value: value)) }
        }
        headers[.init("X-Call-Id")!] = callID
        headers[.init("X-Start-Time")!] = String(Int64(start.timeIntervalSince1970 * 1e9))
        headers[.init("X-Duration-Seconds")!] = String(format: "%.6f", Date().timeIntervalSince(start))
        return Response(status: .init(code: response.status), headers: headers, body: ResponseBody(asyncSequence: response.body))
    }
}

/// A request body that stops (and says so) past `limit` bytes.
struct LimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let limit: Int
    let exceeded = SharedFlag()

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), limit: limit, exceeded: exceeded) }

    struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let limit: Int
        let exceeded: SharedFlag
        var count = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            count += chunk.readableBytes
            if count > limit {
                exceeded.set()
                throw GatewayError(.contentTooLarge, "request body is over the limit of \(limit) bytes")
            }
            return chunk
        }
    }
}

/// A boolean several tasks can see.
final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
