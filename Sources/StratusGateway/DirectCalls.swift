import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import StratusInvoker
import StratusModel
import StratusProcess
import Synchronization

/// The direct path for calls to http-mode and classic functions: a call that needs no waiting (a
/// small body of known length, a free call slot, a ready replica) is proxied on the connection's
/// event loop, to a kept-alive upstream connection on the same loop (http mode), or handed from the
/// loop to a call thread that runs it on a ready launcher (classic), and its answer written back
/// from the loop, never handed to a task and back. Everything else (bodies to stream, calls that
/// must queue or wait for a replica, other routes) goes on to the router unchanged.
///
/// What a direct call does is what the router's call does: the server-wide and per-function call
/// limits, the call id, timing headers, the function's timeout (504), 502 for a replica that
/// fails, metrics and the function's log line.
final class DirectCalls: Sendable {
    let invoker: Invoker
    let inflight: InflightLimiter
    /// Bodies up to this size (with a `Content-Length`, and within the server's body limit) can go the direct way.
    let bodyLimit: Int

    init(invoker: Invoker, inflight: InflightLimiter, maxRequestBytes: Int) {
        self.invoker = invoker
        self.inflight = inflight
        bodyLimit = min(64 * 1024, maxRequestBytes)
        holdLimit = maxRequestBytes + 1024 * 1024
    }

    /// Body bytes a pipelining client may send ahead while a direct call runs.
    let holdLimit: Int

    /// The handler one connection's pipeline gets.
    func handler() -> DirectCallHandler { DirectCallHandler(calls: self) }

    /// The call `request` asks for, when it can go the direct way: its function, the function's
    /// own path, and its query.
    func target(of request: HTTPRequest) -> (name: FunctionName, path: String, query: String)? {
        Self.target(of: request, bodyLimit: bodyLimit)
    }

    static func target(of request: HTTPRequest, bodyLimit: Int) -> (name: FunctionName, path: String, query: String)? {
        guard [.get, .post, .put, .patch, .delete].contains(request.method), let full = request.path, full.hasPrefix("/function/") else { return nil }
        let fields = request.headerFields
        guard fields[.transferEncoding] == nil, fields[.expect] == nil,
              fields[.connection].map({ $0.lowercased() == "keep-alive" }) ?? true,
              (fields[.contentLength].flatMap(Int.init) ?? 0) <= bodyLimit
        else { return nil }
        let parts = full.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rest = parts[0].dropFirst("/function/".count)
        // Anything the router would have to normalise (escapes, empty or dot segments) goes its way.
        guard !rest.contains("%") else { return nil }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard let first = segments.first, !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
              let name = try? FunctionName(address: String(first))
        else { return nil }
        let path = "/" + segments.dropFirst().joined(separator: "/")
        return (name, path, parts.count > 1 ? String(parts[1]) : "")
    }
}

/// Kept-alive connections to http-mode replicas, per event loop and port; used only on its loop
/// (hence unchecked: the table of pools is locked, each pool is touched by one thread).
final class UpstreamPool: @unchecked Sendable {
    private var idle: [Int: [(channel: any Channel, since: NIODeadline)]] = [:]
    private static let pools = Mutex<[ObjectIdentifier: UpstreamPool]>([:])
    /// Idle connections kept per replica.
    static let keep = 32
    /// A connection idle longer than this is closed instead of reused: servers close idle
    /// connections on their own (Node after 5 s), and a request sent as one closes is lost.
    static let maxIdle = TimeAmount.seconds(2)

    static func on(_ loop: any EventLoop) -> UpstreamPool {
        pools.withLock { pools in
            if let pool = pools[ObjectIdentifier(loop)] { return pool }
            let pool = UpstreamPool()
            pools[ObjectIdentifier(loop)] = pool
            return pool
        }
    }

    func take(port: Int) -> (any Channel)? {
        let fresh = NIODeadline.now() - Self.maxIdle
        while let (channel, since) = idle[port]?.popLast() {
            if channel.isActive, since > fresh { return channel }
            channel.close(promise: nil)
        }
        return nil
    }

    func put(_ channel: any Channel, port: Int) {
        guard channel.isActive, idle[port, default: []].count < Self.keep else {
            channel.close(promise: nil)
            return
        }
        idle[port, default: []].append((channel, .now()))
    }
}

/// The client end of one upstream connection: hands the answer's parts to the call using it.
final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPResponsePart

    /// The call the connection carries now; `nil` while it is idle in the pool.
    var exchange: DirectExchange?
    /// Whether the connection stays open after the answer (HTTP/1.1 without `Connection: close`).
    var keepAlive = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        exchange?.upstream(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.upstreamFailed("the connection was closed before the answer was complete")
        exchange = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange?.upstreamFailed("\(error)")
        exchange = nil
        context.close(promise: nil)
    }
}

/// Reads the HTTP/1 version and `Connection` of each answer (an HTTP/1.0 server closes after
/// answering) before they are lost in the translation to HTTP types.
final class KeepAliveProbe: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart
    private weak var upstream: UpstreamHandler?

    init(upstream: UpstreamHandler) {
        self.upstream = upstream
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { upstream?.keepAlive = head.isKeepAlive }
        context.fireChannelRead(data)
    }
}

/// A direct call as the connection's handler drives it: its body collected, then sent; told when
/// the caller can take more, or went away.
protocol DirectCallExchange: AnyObject {
    var body: ByteBuffer { get set }
    var onFinish: () -> Void { get set }
    func send()
    func writable()
    func callerGone()
}

/// The fields every direct answer carries, as the router's calls do.
private func addCallFields(_ fields: inout HTTPFields, callID: String, startDate: Date, start: ContinuousClock.Instant) {
    fields[.callID] = callID
    fields[.init("X-Start-Time")!] = String(Int64(startDate.timeIntervalSince1970 * 1e9))
    fields[.init("X-Duration-Seconds")!] = sixDecimalSeconds(start.duration(to: .now).seconds)
    fields[.server] = "stratus"
}

/// One direct call to a classic function: started from the connection's loop on a ready launcher
/// (the call runs on a call thread), its answer written from the loop when the thread hands it
/// back: whole, or, past the first MiB, streamed chunk by chunk as the caller takes it.
final class ClassicExchange: DirectCallExchange {
    let call: ImmediateCall
    let request: InvocationRequest
    let context: ChannelHandlerContext
    let calls: DirectCalls
    var body: ByteBuffer
    let start = ContinuousClock.now
    let startDate = Date()
    private var finished = false
    private var gone = false
    /// The answer being streamed, when it streams.
    private var streaming: ProxyBody?
    var onFinish: () -> Void = {}

    init(call: ImmediateCall, request: InvocationRequest, context: ChannelHandlerContext, calls: DirectCalls) {
        self.call = call
        self.request = request
        self.context = context
        self.calls = calls
        body = context.channel.allocator.buffer(capacity: 0)
    }

    func send() {
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        call.start(request, body: ChunkPipe(whole: body)) { response in
            loop.execute { bound.value.respond(response) }
        }
    }

    func writable() {}

    func callerGone() {
        gone = true
        streaming?.abandon()
    }

    private func respond(_ response: ProxyResponse) {
        guard !gone else {
            response.body.abandon()
            finish()
            return
        }
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        addCallFields(&fields, callID: request.callID, startDate: startDate, start: start)
        var head = HTTPResponse(status: .init(code: response.status), headerFields: fields)
        if let whole = response.body.whole {
            head.headerFields[.contentLength] = String(whole.readableBytes)
            context.write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
            if whole.readableBytes > 0 { context.write(NIOAny(HTTPResponsePart.body(whole)), promise: nil) }
            context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
            finish()
            return
        }
        // Streams: each chunk goes out once the one before it has been written (the caller's pace).
        streaming = response.body
        context.writeAndFlush(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let answer = response.body
        Task {
            var failed = false
            do {
                for try await chunk in answer {
                    let written = loop.makePromise(of: Void.self)
                    loop.execute { bound.value.context.writeAndFlush(NIOAny(HTTPResponsePart.body(chunk)), promise: written) }
                    try await written.futureResult.get()
                }
            } catch {
                answer.abandon()
                failed = true
            }
            loop.execute {
                let exchange = bound.value
                if failed || exchange.gone {
                    // Cut short (the function failed after its answer started, or the caller left): the connection ends.
                    exchange.context.close(promise: nil)
                } else {
                    exchange.context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
                }
                exchange.finish()
            }
        }
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        calls.inflight.leave()
        onFinish()
    }
}

/// One direct call to an http-mode function, from its request's head to its answer's end; lives on the connection's loop.
final class DirectExchange: DirectCallExchange {
    let call: DirectCall
    let head: HTTPRequest
    let request: InvocationRequest
    let context: ChannelHandlerContext
    let calls: DirectCalls
    /// The kept-alive upstream connections of this connection's event loop.
    let pool: UpstreamPool
    var body: ByteBuffer
    let start = ContinuousClock.now
    let startDate = Date()
    private var upstream: (any Channel)?
    /// Whether the request went on a kept-alive connection (which the replica may have been closing),
    /// and whether it was sent again on a new one after that failed.
    private var reused = false
    private(set) var retried = false
    private var timeout: Scheduled<Void>?
    private var answered = false
    private var finished = false
    private var bytes = 0
    private var status = 0
    /// Told once the call is over, so the connection takes its next request.
    var onFinish: () -> Void = {}

    init(call: DirectCall, head: HTTPRequest, request: InvocationRequest, context: ChannelHandlerContext, calls: DirectCalls,
         pool: UpstreamPool) {
        self.call = call
        self.pool = pool
        self.head = head
        self.request = request
        self.context = context
        self.calls = calls
        body = context.channel.allocator.buffer(capacity: 0)
    }

    /// Sends the request on a kept-alive connection to the replica, or a new one.
    func send() {
        let port = call.lease.port
        let seconds = call.lease.timeout
        timeout = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            fail(.gatewayTimeout, "function timed out after \(seconds)s")
        }
        if let channel = pool.take(port: port) {
            reused = true
            write(on: channel)
            return
        }
        connect()
    }

    /// Sends the request on a new connection to the replica.
    private func connect() {
        let port = call.lease.port
        let bootstrap = ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    let upstream = UpstreamHandler()
                    try channel.pipeline.syncOperations.addHandlers([KeepAliveProbe(upstream: upstream), HTTP1ToHTTPClientCodec(), upstream])
                }
            }
        let connecting = bootstrap.connect(host: "127.0.0.1", port: port)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        connecting.whenComplete { result in
            let exchange = bound.value
            switch result {
            case .success(let channel): exchange.write(on: channel)
            case .failure(let error):
                // A second try that cannot connect: the replica may have just died; say so once its watcher knows.
                if exchange.retried { exchange.upstreamFailed("\(error)", looks: 1) } else { exchange.fail(.badGateway, exchange.call.lease.failure("\(error)")) }
            }
        }
    }

    private func write(on channel: any Channel) {
        guard !finished else {
            pool.put(channel, port: call.lease.port)
            return
        }
        upstream = channel
        guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
            fail(.badGateway, call.lease.failure("the upstream connection has no handler"))
            return
        }
        handler.exchange = self
        var fields = HTTPFields()
        for field in head.headerFields where !Self.hopByHop.contains(field.name.canonicalName) && field.name != .contentLength
            && field.name != .callID {
            fields.append(field)
        }
        fields[.callID] = request.callID
        if body.readableBytes > 0 || head.method != .get { fields[.contentLength] = String(body.readableBytes) }
        let path = request.path + (request.query.isEmpty ? "" : "?" + request.query)
        let upstreamHead = HTTPRequest(method: head.method, scheme: nil, authority: "127.0.0.1:\(call.lease.port)", path: path, headerFields: fields)
        channel.write(HTTPRequestPart.head(upstreamHead), promise: nil)
        if body.readableBytes > 0 { channel.write(HTTPRequestPart.body(body), promise: nil) }
        channel.writeAndFlush(HTTPRequestPart.end(nil), promise: nil)
    }

    /// A part of the answer came from the replica.
    func upstream(_ part: HTTPResponsePart) {
        guard !finished else { return }
        switch part {
        case .head(let response):
            guard response.status.kind != .informational else { return }
            answered = true
            status = response.status.code
            var fields = HTTPFields()
            for field in response.headerFields where !Self.hopByHop.contains(field.name.canonicalName) { fields.append(field) }
            addCallFields(&fields)
            context.write(NIOAny(HTTPResponsePart.head(HTTPResponse(status: response.status, headerFields: fields))), promise: nil)
        case .body(let chunk):
            bytes += chunk.readableBytes
            context.write(NIOAny(HTTPResponsePart.body(chunk)), promise: nil)
            // A caller slower than the function: read no more from it until the caller catches up.
            // (Paused before the flush: a flush that drains the buffer reports writable again, which resumes it.)
            if !context.channel.isWritable {
                upstream?.setOption(.autoRead, value: false).whenComplete { _ in }
                context.flush()
            }
        case .end:
            context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
            let channel = upstream
            upstream = nil
            if let channel {
                let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                handler?.exchange = nil
                if handler?.keepAlive == true {
                    // Reading again, in case a slow caller paused it: the next call on it needs its answer read.
                    channel.setOption(.autoRead, value: true).whenComplete { _ in }
                    pool.put(channel, port: call.lease.port)
                } else {
                    channel.close(promise: nil)
                }
            }
            finish(error: nil)
        }
    }

    func flush() {
        if !finished { context.flush() }
    }

    /// The caller can take more of the answer again.
    func writable() {
        upstream?.setOption(.autoRead, value: true).whenComplete { _ in }
    }

    /// The replica failed the call: give its watcher a moment (up to 100 ms) to see a crash, so the
    /// answer can say so, as the router's path does.
    func upstreamFailed(_ why: String, looks: Int = 0) {
        guard !finished else { return }
        dropUpstream()
        // A kept-alive connection the replica closed as the request went out: an idempotent request
        // is sent once more on a new connection, as HTTP clients do (the rest rely on the idle limit).
        // When the replica died instead, that try fails too, and the answer says it died.
        if reused, !retried, !answered, looks == 0, Self.idempotent.contains(head.method) {
            retried = true
            reused = false
            connect()
            return
        }
        if looks < 10, !call.lease.hasExited, !answered {
            context.eventLoop.scheduleTask(in: .milliseconds(10)) { [self] in upstreamFailed(why, looks: looks + 1) }
            return
        }
        fail(.badGateway, call.lease.failure(why))
    }

    /// The caller went away mid-call.
    func callerGone() {
        guard !finished else { return }
        dropUpstream()
        finish(error: "the caller went away before the answer was complete")
    }

    /// Ends the call with `status` and `message` when no answer has started, else cuts the answer off.
    func fail(_ failure: HTTPResponse.Status, _ message: String) {
        guard !finished else { return }
        dropUpstream()
        if answered {
            context.close(promise: nil)
            finish(error: "the function's response was cut off: \(message)")
            return
        }
        status = failure.code
        let text = ByteBuffer(string: message + "\n")
        var fields: HTTPFields = [.contentType: "text/plain; charset=utf-8", .contentLength: String(text.readableBytes)]
        addCallFields(&fields)
        context.write(NIOAny(HTTPResponsePart.head(HTTPResponse(status: failure, headerFields: fields))), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(text)), promise: nil)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
        bytes = text.readableBytes
        finish(error: message)
    }

    private func dropUpstream() {
        if let channel = upstream {
            (try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self))?.exchange = nil
            channel.close(promise: nil)
        }
        upstream = nil
    }

    private func addCallFields(_ fields: inout HTTPFields) {
        StratusGateway.addCallFields(&fields, callID: request.callID, startDate: startDate, start: start)
    }

    private func finish(error: String?) {
        guard !finished else { return }
        finished = true
        timeout?.cancel()
        calls.inflight.leave()
        call.finish(ProxyCallEnd(instance: call.lease.instance, status: status, bytes: bytes, duration: start.duration(to: .now).seconds,
                                 error: error), request: request)
        onFinish()
    }

    static let idempotent: Set<HTTPRequest.Method> = [.get, .head, .put, .delete, .options]

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "host",
    ]
}

/// In each connection's pipeline, before the router: takes the calls that can go the direct way.
/// Answers go out in the order requests came: a call goes direct only when the router owes this
/// connection no answer, and requests that arrive while a direct call runs wait for it to end.
final class DirectCallHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let calls: DirectCalls
    /// Requests handed to the router whose answers have not ended yet.
    private var routerPending = 0
    /// The direct call under way, and whether its body is still arriving.
    private var exchange: (any DirectCallExchange)?
    private var collecting = false
    /// Parts that arrived while a direct call ran (a pipelining client), in order, and their body bytes.
    private var held = CircularBuffer<HTTPRequestPart>()
    private var heldBytes = 0
    private var context: ChannelHandlerContext?
    /// Its event loop's upstream connections, looked up once per connection.
    private var pool: UpstreamPool?

    init(calls: DirectCalls) {
        self.calls = calls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        pool = UpstreamPool.on(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if (exchange != nil && !collecting) || !held.isEmpty {
            hold(part, context: context)
        } else {
            handle(part, context: context)
        }
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            if routerPending == 0, let started = start(head, context: context) {
                exchange = started
                collecting = true
            } else {
                routerPending += 1
                context.fireChannelRead(wrapInboundOut(part))
            }
        case .body(var chunk):
            if collecting, let exchange { exchange.body.writeBuffer(&chunk) } else { context.fireChannelRead(wrapInboundOut(part)) }
        case .end:
            if collecting, let exchange {
                collecting = false
                exchange.send()
            } else {
                context.fireChannelRead(wrapInboundOut(part))
            }
        }
    }

    private func hold(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        if case .body(let chunk) = part { heldBytes += chunk.readableBytes }
        // A client that pipelines more than a body's worth behind a call is not served further.
        guard heldBytes <= calls.holdLimit else {
            context.close(promise: nil)
            return
        }
        held.append(part)
    }

    /// The direct call ended: the requests that waited for it go on.
    private func finished() {
        exchange = nil
        collecting = false
        heldBytes = 0
        guard let context, !held.isEmpty else { return }
        while let part = held.popFirst() {
            handle(part, context: context)
            if exchange != nil && !collecting { break }
        }
        // The router's side takes what it was handed when a read completes.
        context.fireChannelReadComplete()
        if !held.isEmpty { heldBytes = held.reduce(0) { if case .body(let chunk) = $1 { $0 + chunk.readableBytes } else { $0 } } }
    }

    private func start(_ head: HTTPRequest, context: ChannelHandlerContext) -> (any DirectCallExchange)? {
        guard let (name, path, query) = calls.target(of: head), calls.inflight.enter() else { return nil }
        let callID = head.headerFields[.callID] ?? CallIDMiddleware.freshID()
        guard let call = calls.invoker.startDirect(name, callID: callID) else {
            if let call = calls.invoker.startImmediate(name, callID: callID) {
                let request = InvocationRequest(method: head.method.rawValue, path: path, query: query,
                                                headers: head.headerFields.map { ($0.name.canonicalName, $0.value) }, body: [], callID: callID)
                let exchange = ClassicExchange(call: call, request: request, context: context, calls: calls)
                exchange.onFinish = { [weak self] in self?.finished() }
                return exchange
            }
            calls.inflight.leave()
            return nil
        }
        let request = InvocationRequest(method: head.method.rawValue, path: path, query: query, headers: [], body: [], callID: callID)
        let exchange = DirectExchange(call: call, head: head, request: request, context: context, calls: calls,
                                      pool: pool ?? UpstreamPool.on(context.eventLoop))
        exchange.onFinish = { [weak self] in self?.finished() }
        return exchange
    }

    /// The router's answers pass here on their way out: count the ones that end.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routerPending = max(0, routerPending - 1) }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let exchange, !collecting, context.channel.isWritable { exchange.writable() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        held.removeAll()
        exchange?.callerGone()
        context.fireChannelInactive()
    }
}
