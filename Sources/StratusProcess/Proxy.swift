import AsyncHTTPClient
import Foundation
public import NIOCore
import NIOHTTP1
import StratusModel
import Synchronization

/// The head of a call proxied to an http-mode replica; the body streams separately.
public struct ProxyRequest: Sendable {
    public var method: String
    /// The path the function sees, starting with `/`.
    public var path: String
    public var query: String
    public var headers: [(String, String)]
    /// The body's length when the caller said (`Content-Length`), else it is sent chunked.
    public var contentLength: Int?

    public init(method: String, path: String, query: String, headers: [(String, String)], contentLength: Int?) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.contentLength = contentLength
    }
}

/// Why a proxied call got no answer from the function.
public enum ProxyFailure: Error, Sendable, Equatable {
    /// No replica could take the call (503).
    case unavailable(String)
    /// The replica failed mid-call: closed the connection, crashed (502).
    case badGateway(String)
    /// The call outran the function's timeout (504).
    case timedOut(Double)

    public var status: Int {
        switch self {
        case .unavailable: 503
        case .badGateway: 502
        case .timedOut: 504
        }
    }

    public var message: String {
        switch self {
        case .unavailable(let why): why
        case .badGateway(let why): why
        case .timedOut(let seconds): "function timed out after \(seconds)s"
        }
    }
}

/// How a proxied call ended, once its response body has been sent (or abandoned).
public struct ProxyCallEnd: Sendable {
    /// The replica that served it, if one did.
    public let instance: String?
    public let status: Int
    public let bytes: Int
    public let duration: Double
    /// What went wrong after the head was sent (a truncated body), if anything.
    public let error: String?
    /// Lines for the function's log before the call's summary line (a classic process's stderr).
    public let lines: [String]

    public init(instance: String?, status: Int, bytes: Int, duration: Double, error: String?, lines: [String] = []) {
        self.instance = instance
        self.status = status
        self.bytes = bytes
        self.duration = duration
        self.error = error
        self.lines = lines
    }
}

/// A proxied call's answer: the head now, the body streaming from the replica.
public struct ProxyResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: ProxyBody

    public init(status: Int, headers: [(String, String)], body: ProxyBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The response body of a streamed call: from an http-mode replica, a classic process's output
/// pipe, or one buffer. A proxied call ends (and its replica is free again) when the body has been
/// read to its end, failed, or been dropped; a piped one when its process ends.
public struct ProxyBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    fileprivate enum Source: Sendable {
        case upstream(HTTPClientResponse.Body)
        case fixed(ByteBuffer)
        case pipe(ChunkPipe)
    }

    fileprivate let source: Source
    fileprivate let tracker: CallTracker?

    fileprivate init(source: Source, tracker: CallTracker?) {
        self.source = source
        self.tracker = tracker
    }

    /// A body that is one buffer.
    public init(_ buffer: ByteBuffer) { self.init(source: .fixed(buffer), tracker: nil) }

    /// The body when it is one buffer in hand (its length is known).
    public var whole: ByteBuffer? {
        if case .fixed(let buffer) = source { buffer } else { nil }
    }

    /// A body read from `pipe` as its writer fills it.
    public init(_ pipe: ChunkPipe) { self.init(source: .pipe(pipe), tracker: nil) }

    /// No one will read the rest (the caller went away): a pipe's writer stops.
    public func abandon() {
        if case .pipe(let pipe) = source { pipe.readerDone() }
    }

    public func makeAsyncIterator() -> Iterator {
        switch source {
        case .upstream(let body): Iterator(upstream: body.makeAsyncIterator(), fixed: nil, piped: nil, tracker: tracker)
        case .fixed(let buffer): Iterator(upstream: nil, fixed: buffer, piped: nil, tracker: tracker)
        case .pipe(let pipe): Iterator(upstream: nil, fixed: nil, piped: pipe.makeAsyncIterator(), tracker: nil)
        }
    }

    public struct Iterator: AsyncIteratorProtocol {
        var upstream: HTTPClientResponse.Body.AsyncIterator?
        var fixed: ByteBuffer?
        var piped: ChunkPipe.Iterator?
        fileprivate let tracker: CallTracker?

        public mutating func next() async throws -> ByteBuffer? {
            if var iterator = piped {
                let chunk = try await iterator.next()
                piped = iterator
                return chunk
            }
            guard let tracker else {
                defer { fixed = nil }
                return fixed
            }
            if var iterator = upstream {
                do {
                    let chunk = try await iterator.next()
                    upstream = iterator
                    if let chunk { tracker.add(chunk.readableBytes) } else { tracker.finish(error: nil) }
                    return chunk
                } catch {
                    tracker.finish(error: "the function's response was cut off: \(error)")
                    throw error
                }
            }
            guard let buffer = fixed else {
                tracker.finish(error: nil)
                return nil
            }
            fixed = nil
            tracker.add(buffer.readableBytes)
            return buffer
        }
    }
}

/// Counts a call's response bytes and reports its end exactly once.
private final class CallTracker: Sendable {
    private struct State {
        var bytes = 0
        var done = false
    }

    private let state = Mutex(State())
    let instance: String?
    let status: Int
    let start: ContinuousClock.Instant
    let onEnd: @Sendable (ProxyCallEnd) -> Void

    init(instance: String?, status: Int, start: ContinuousClock.Instant, onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) {
        self.instance = instance
        self.status = status
        self.start = start
        self.onEnd = onEnd
    }

    func add(_ count: Int) { state.withLock { $0.bytes += count } }

    func finish(error: String?) {
        let bytes = state.withLock { state -> Int? in
            guard !state.done else { return nil }
            state.done = true
            return state.bytes
        }
        guard let bytes else { return }
        onEnd(ProxyCallEnd(instance: instance, status: status, bytes: bytes, duration: start.duration(to: .now).seconds, error: error))
    }

    deinit { finish(error: nil) }
}

extension HTTPFunction {
    /// Answers up to this size (with a Content-Length) are read whole before they are passed on.
    static let collectedAnswer = 64 * 1024

    /// Headers that describe one connection, not the message: never forwarded either way.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "host",
    ]

    /// Sends a call to the least busy ready replica, streaming `body` up (or sending `whole`, when
    /// the body is in hand) and the answer back. Failures come back as a plain-text response with
    /// their status (502, 503, 504).
    public func forward<Body: AsyncSequence & Sendable>(
        _ head: ProxyRequest, body: Body, whole: ByteBuffer? = nil, onEnd: @escaping @Sendable (ProxyCallEnd) -> Void
    ) async -> ProxyResponse where Body.Element == ByteBuffer {
        let start = ContinuousClock.now
        let replica: Replica
        switch await acquire() {
        case .success(let picked): replica = picked
        case .failure(let failure): return Self.failed(failure, instance: nil, start: start, onEnd: onEnd)
        }
        let release: @Sendable (ProxyCallEnd) -> Void = { end in
            replica.inflight.subtract(1, ordering: .relaxed)
            onEnd(end)
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(replica.port)\(head.path)\(head.query.isEmpty ? "" : "?" + head.query)")
        request.method = HTTPMethod(rawValue: head.method)
        for (name, value) in head.headers where !Self.hopByHop.contains(name.lowercased()) && name.lowercased() != "content-length" {
            request.headers.add(name: name, value: value)
        }
        if let whole {
            // A body in hand goes up in one write, without the streaming machinery.
            if whole.readableBytes > 0 || head.method != "GET" && head.method != "HEAD" { request.body = .bytes(whole) }
        } else if head.method != "GET" && head.method != "HEAD" || (head.contentLength ?? 0) > 0 {
            request.body = .stream(body, length: head.contentLength.map { .known(Int64($0)) } ?? .unknown)
        }
        let timeout = function.settings.timeout
        let sent = ContinuousClock.now
        do {
            let response = try await ProxyClient.shared.execute(request, deadline: .now() + .milliseconds(Int64(timeout * 1000)))
            // An answer that came after the timeout is late even if the deadline's timer did not get
            // to run first (a starved machine): the caller gets 504 all the same.
            if sent.duration(to: .now) > .seconds(timeout) {
                Task { for try await _ in response.body {} }
                return Self.failed(.timedOut(timeout), instance: replica.instance, start: start, onEnd: release)
            }
            let headers = response.headers.filter { !Self.hopByHop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
            let status = Int(response.status.code)
            // A small answer of known length is read here, so it goes out in one write.
            if let length = response.headers.first(name: "content-length").flatMap(Int.init), length <= Self.collectedAnswer {
                do {
                    let answer = try await response.body.collect(upTo: length)
                    let tracker = CallTracker(instance: replica.instance, status: status, start: start, onEnd: release)
                    return ProxyResponse(status: status, headers: headers, body: ProxyBody(source: .fixed(answer), tracker: tracker))
                } catch {
                    return Self.failed(.badGateway("the function's response was cut off: \(error)"), instance: replica.instance, start: start,
                                       onEnd: release)
                }
            }
            let tracker = CallTracker(instance: replica.instance, status: status, start: start, onEnd: release)
            return ProxyResponse(status: status, headers: headers, body: ProxyBody(source: .upstream(response.body), tracker: tracker))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return Self.failed(.timedOut(timeout), instance: replica.instance, start: start, onEnd: release)
        } catch {
            // Give the watcher a moment to see a crash, so the message can say so.
            for _ in 0..<10 where !replica.process.hasExited { try? await Task.sleep(for: .milliseconds(10)) }
            let why = Self.failure(exited: replica.process.hasExited, function: name, error: "\(error)")
            return Self.failed(.badGateway(why), instance: replica.instance, start: start, onEnd: release)
        }
    }

    /// What the caller is told when a replica failed a call (`error` is what the connection saw).
    static func failure(exited: Bool, function: String, error: String) -> String {
        exited
            ? "the function's process exited while handling the request (see `stratus logs \(function)`); it is being restarted"
            : "the function's replica failed the request: \(error)"
    }

    private static func failed(_ failure: ProxyFailure, instance: String?, start: ContinuousClock.Instant,
                               onEnd: @escaping @Sendable (ProxyCallEnd) -> Void) -> ProxyResponse {
        let tracker = CallTracker(instance: instance, status: failure.status, start: start, onEnd: onEnd)
        let body = ByteBuffer(string: failure.message + "\n")
        return ProxyResponse(status: failure.status, headers: [("Content-Type", "text/plain; charset=utf-8")],
                             body: ProxyBody(source: .fixed(body), tracker: tracker))
    }
}
