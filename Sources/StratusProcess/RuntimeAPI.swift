import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

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
    let port: Int

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    /// Listens on `127.0.0.1:port` and serves `replica`'s runtime API; bodies above `bodyLimit`
    /// are refused with 413.
    static func start(port: Int, replica: BootstrapReplica, bodyLimit: Int) async throws -> RuntimeAPIServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let api = RuntimeAPIServer(channel: server.channel, port: port)
        Task {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await Self.serve(connection, replica: replica, bodyLimit: bodyLimit) }
                    }
                }
            }
        }
        return api
    }

    /// Stops listening; connections still open end when the replica's process goes.
    func close() {
        channel.close(promise: nil)
    }

    /// One keep-alive connection: requests one after another (a long-poll `next` holds it).
    private static func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, replica: BootstrapReplica,
                              bodyLimit: Int) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            var tooLarge = false
            for try await part in inbound {
                switch part {
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
                    guard let request = head else { continue }
                    let answer = await route(request, body: Array(body.readableBytesView), tooLarge: tooLarge, replica: replica, bodyLimit: bodyLimit)
                    var headers = HTTPHeaders(answer.headers)
                    headers.replaceOrAdd(name: "Content-Length", value: String(answer.body.count))
                    if answer.headers.first(where: { $0.0.lowercased() == "content-type" }) == nil {
                        headers.add(name: "Content-Type", value: "application/json")
                    }
                    let keepAlive = request.isKeepAlive
                    if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: .init(statusCode: answer.status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: answer.body))))
                    try await outbound.write(.end(nil))
                    if !keepAlive { return }
                    head = nil
                }
            }
        }
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

    static func route(_ head: HTTPRequestHead, body: [UInt8], tooLarge: Bool, replica: BootstrapReplica, bodyLimit: Int) async -> Answer {
        let path = String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let aws = path.hasPrefix(awsPrefix + "/")
        let rest = aws ? String(path.dropFirst(awsPrefix.count)) : path
        let parts = rest.split(separator: "/").map(String.init)
        let method = head.method
        switch (method, parts.count, parts) {
        case (.GET, 3, let p) where p == ["runtime", "invocation", "next"]:
            return await replica.next(dialect: aws ? .aws : .scf)
        case (.POST, 3, let p) where p == ["runtime", "init", "error"]:
            return replica.initError(body: body, type: head.headers.first(name: "Lambda-Runtime-Function-Error-Type"))
        case (.POST, 3, let p) where p == ["runtime", "init", "ready"] && !aws:
            return replica.initReady()
        case (.POST, 4, let p) where aws && p[0] == "runtime" && p[1] == "invocation" && (p[3] == "response" || p[3] == "error"):
            return respond(p[3], id: p[2], body: body, tooLarge: tooLarge, head: head, replica: replica, bodyLimit: bodyLimit)
        case (.POST, 3, let p) where !aws && p[0] == "runtime" && p[1] == "invocation" && (p[2] == "response" || p[2] == "error"):
            return respond(p[2], id: nil, body: body, tooLarge: tooLarge, head: head, replica: replica, bodyLimit: bodyLimit)
        default:
            let known = ["/runtime/invocation/next", "/runtime/invocation/{id}/response", "/runtime/invocation/{id}/error", "/runtime/init/error"]
            return .error(404, "UnknownEndpoint", "\(method.rawValue) \(path) is not part of the runtime API (AWS: \(known.map { awsPrefix + $0 }.joined(separator: ", ")); "
                + "SCF: /runtime/init/ready, /runtime/invocation/next, /runtime/invocation/response, /runtime/invocation/error)")
        }
    }

    private static func respond(_ kind: String, id: String?, body: [UInt8], tooLarge: Bool, head: HTTPRequestHead, replica: BootstrapReplica,
                                bodyLimit: Int) -> Answer {
        if tooLarge { return replica.oversized(id: id, limit: bodyLimit) }
        if kind == "response" { return replica.response(id: id, body: body) }
        return replica.error(id: id, body: body, type: head.headers.first(name: "Lambda-Runtime-Function-Error-Type"))
    }
}
