import NIOCore
import StratusModel
import StratusProcess
import Synchronization

/// An http-mode function: replicas of its server process, calls proxied to the least busy one.
final class HTTPKind: ReplicatedKind, StreamingFunction {
    let function: HTTPFunction
    let responseLimit: Int
    /// `http`, or `image` for a container image's replicas.
    let kind: String

    init(function: HTTPFunction, responseLimit: Int, kind: String = "http") {
        self.function = function
        self.responseLimit = responseLimit
        self.kind = kind
    }

    var streaming: (any StreamingFunction)? { self }
    var leasing: HTTPFunction? { function }

    func forward(_ request: InvocationRequest, body: ChunkPipe, contentLength: Int?, onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) async
        -> ProxyResponse {
        await function.forward(request.proxyHead(contentLength: contentLength), body: body, whole: body.whole, onEnd: onEnd)
    }

    /// A call with the whole body in hand (an async call, say): streamed to a replica all the same, the answer collected.
    func call(_ request: InvocationRequest) async -> CallOutcome {
        let end = Mutex<ProxyCallEnd?>(nil)
        let whole = ByteBuffer(bytes: request.body)
        let response = await function.forward(request.proxyHead(contentLength: request.body.count), body: OneBuffer(buffer: whole),
                                              whole: whole) { finished in
            end.withLock { $0 = finished }
        }
        var body: [UInt8] = []
        var status = response.status
        var failure: String?
        do {
            for try await chunk in response.body {
                body += chunk.readableBytesView
                if body.count > responseLimit {
                    status = 500
                    failure = "the response is over the limit of \(responseLimit) bytes"
                    body = Array("\(failure ?? "")\n".utf8)
                    break
                }
            }
        } catch {
            status = 502
            failure = "the function's response was cut off: \(error)"
            body = Array("\(failure ?? "")\n".utf8)
        }
        let finished = end.withLock { $0 }
        let type = response.headers.first { $0.0.lowercased() == "content-type" }?.1
        let answer = InvocationResult(status: status, body: body, contentType: type, duration: finished?.duration ?? 0)
        return CallOutcome(answer: answer, instance: finished?.instance ?? "gateway", failure: failure ?? finished?.error)
    }
}

extension InvocationRequest {
    /// The request as the proxy sends it on: the call id in `X-Call-Id`.
    func proxyHead(contentLength: Int?) -> ProxyRequest {
        var headers = headers.filter { $0.0.lowercased() != "x-call-id" }
        headers.append(("X-Call-Id", callID))
        return ProxyRequest(method: method, path: path, query: query, headers: headers, contentLength: contentLength)
    }
}

/// A body that is one buffer, as an async sequence.
struct OneBuffer: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer

    func makeAsyncIterator() -> Iterator { Iterator(buffer: buffer) }

    struct Iterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        mutating func next() async -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }
}
