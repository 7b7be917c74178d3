import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The runtime API one bootstrap replica talks to, on a private loopback port. It speaks both
/// dialects on the same port, told apart by path:
///
/// - AWS Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`), under `/2018-06-01`:
///   `GET runtime/invocation/next`, `POST runtime/invocation/{id}/response`,
///   `POST runtime/invocation/{id}/error`, `POST runtime/init/error`.
/// - Tencent SCF custom runtime API (`SCF_RUNTIME_API`, `SCF_RUNTIME_API_PORT`):
///   `POST /runtime/init/ready`, `GET /runtime/invocation/next`,
///   `POST /runtime/invocation/response`, `POST /runtime/invocation/error`.
final class RuntimeAPIServer: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Listens on `127.0.0.1:port` and serves `replica`'s runtime API; bodies above `bodyLimit`
    /// are refused with 413. Requests are handled on the event loop (no task hops): the runtime
    /// API answers even while Swift's concurrency threads are busy.
    static func start(port: Int, replica: BootstrapReplica, bodyLimit: Int) async throws -> RuntimeAPIServer {
        let connections = ConnectionCounter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // Only the replica's own processes may talk to its runtime API: any process on the
                // host can connect to a loopback port, and would otherwise take its events.
                // The look at /proc blocks: it runs on NIO's blocking pool, not on an event loop or a task.
                let peer = channel.remoteAddress?.port ?? 0
                let allowed = NIOThreadPool.singleton.runIfActive(eventLoop: channel.eventLoop) {
                    replica.holds(connectionFrom: peer, to: port)
                }
                return allowed.flatMapThrowing { allowed in
                    guard allowed else { throw RuntimeAPIServer.ForeignConnection() }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    let id = connections.next()
                    try channel.pipeline.syncOperations.addHandler(RuntimeAPIHandler(replica: replica, bodyLimit: bodyLimit, connection: id))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return RuntimeAPIServer(channel: channel)
    }

    /// A connection from a process that is not the replica's: closed at once.
    struct ForeignConnection: Error {}

    /// Stops listening; connections still open end when the replica's process goes.
    func close() {
        channel.close(promise: nil)
    }

    /// An answer to the bootstrap.
    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8]

        static func accepted() -> Answer { Answer(status: 202, body: Array(#"{"status":"OK"}"#.utf8)) }
        static func ok() -> Answer { Answer(status: 200, body: Array(#"{"status":"OK"}"#.utf8)) }

        /// An error in the Lambda Runtime API's shape: `{"errorMessage": …, "errorType": …}`.
        static func error(_ status: Int, _ type: String, _ message: String) -> Answer {
            let object = ["errorMessage": message, "errorType": type]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            return Answer(status: status, body: Array(data))
        }
    }

    static let awsPrefix = "/2018-06-01"

    /// Answers one request through `reply` (at once, or later for a `next` that waits).
    static func route(_ head: HTTPRequestHead, body: [UInt8], tooLarge: Bool, replica: BootstrapReplica, bodyLimit: Int, connection: Int,
                      reply: @escaping @Sendable (Answer) -> Void) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let aws = path.hasPrefix(awsPrefix + "/")
        let rest = aws ? String(path.dropFirst(awsPrefix.count)) : path
        let parts = rest.split(separator: "/").map(String.init)
        let method = head.method
        switch (method, parts.count, parts) {
        case (.GET, 3, let p) where p == ["runtime", "invocation", "next"]:
            replica.next(dialect: aws ? .aws : .scf, connection: connection, reply: reply)
        case (.POST, 3, let p) where p == ["runtime", "init", "error"]:
            reply(replica.initError(body: body, type: head.headers.first(name: "Lambda-Runtime-Function-Error-Type")))
        case (.POST, 3, let p) where p == ["runtime", "init", "ready"] && !aws:
            reply(replica.initReady())
        case (.POST, 4, let p) where aws && p[0] == "runtime" && p[1] == "invocation" && (p[3] == "response" || p[3] == "error"):
            reply(respond(p[3], id: p[2], body: body, tooLarge: tooLarge, head: head, replica: replica, bodyLimit: bodyLimit))
        case (.POST, 3, let p) where !aws && p[0] == "runtime" && p[1] == "invocation" && (p[2] == "response" || p[2] == "error"):
            reply(respond(p[2], id: nil, body: body, tooLarge: tooLarge, head: head, replica: replica, bodyLimit: bodyLimit))
        default:
            let known = ["/runtime/invocation/next", "/runtime/invocation/{id}/response", "/runtime/invocation/{id}/error", "/runtime/init/error"]
            reply(.error(404, "UnknownEndpoint", "\(method.rawValue) \(path) is not part of the runtime API (AWS: \(known.map { awsPrefix + $0 }.joined(separator: ", ")); "
                + "SCF: /runtime/init/ready, /runtime/invocation/next, /runtime/invocation/response, /runtime/invocation/error)"))
        }
    }

    private static func respond(_ kind: String, id: String?, body: [UInt8], tooLarge: Bool, head: HTTPRequestHead, replica: BootstrapReplica,
                                bodyLimit: Int) -> Answer {
        if tooLarge { return replica.oversized(id: id, limit: bodyLimit) }
        if kind == "response" { return replica.response(id: id, body: body) }
        return replica.error(id: id, body: body, type: head.headers.first(name: "Lambda-Runtime-Function-Error-Type"))
    }
}

/// One connection's requests, one after another: the head and body are collected (up to the
/// limit), routed, and the answer written when it comes (a `next` may wait for a long time).
private final class RuntimeAPIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let replica: BootstrapReplica
    let bodyLimit: Int
    let connection: Int
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(replica: BootstrapReplica, bodyLimit: Int, connection: Int) {
        self.replica = replica
        self.bodyLimit = bodyLimit
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let next):
            head = next
            body.clear()
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > bodyLimit {
                tooLarge = true
                body.clear()
            } else if !tooLarge {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let request = head else { return }
            head = nil
            let loop = context.eventLoop
            let bound = NIOLoopBound((context: context, handler: self), eventLoop: loop)
            RuntimeAPIServer.route(request, body: Array(body.readableBytesView), tooLarge: tooLarge, replica: replica, bodyLimit: bodyLimit,
                                   connection: connection) { answer in
                loop.execute { bound.value.handler.write(answer, for: request, context: bound.value.context) }
            }
        }
    }

    private func write(_ answer: RuntimeAPIServer.Answer, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders(answer.headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(answer.body.count))
        if answer.headers.first(where: { $0.0.lowercased() == "content-type" }) == nil {
            headers.add(name: "Content-Type", value: "application/json")
        }
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .init(statusCode: answer.status), headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A `next` this connection was holding is withdrawn: no event is handed to a closed socket.
        replica.withdraw(connection: connection)
        context.fireChannelInactive()
    }
}

/// Numbers the runtime API's connections.
private final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}
