import CStratusSys
public import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A body on its way between two sides that go at their own pace: the connection reading a request
/// and the function taking it, or a function's process writing its answer and the connection
/// sending it. At most about `window` bytes wait between them; a writer that gets further ahead
/// waits for the reader. Either side may be a task (`send`, or iterating) or a call's thread
/// (`push`/`take`, sleeping in `poll` on `wakeDescriptor`, which is readable after any change).
/// When the reader goes away (`readerDone`, or its iterator is dropped) the writer is let go and
/// what it sends from then on is dropped.
public final class ChunkPipe: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    /// What a thread reader finds.
    enum Take {
        case chunk(ByteBuffer)
        /// Nothing yet: wait on `wakeDescriptor`.
        case empty
        case end
        case failed(any Error)
    }

    private struct State {
        var chunks = CircularBuffer<ByteBuffer>()
        var bytes = 0
        var ended = false
        var failure: (any Error)?
        var readerGone = false
        var writer: CheckedContinuation<Bool, Never>?
        var reader: CheckedContinuation<ByteBuffer?, any Error>?
        /// A pipe whose read end a thread side polls; made when a thread first asks for it.
        var wake: [Int32] = [-1, -1]

        mutating func signal() {
            guard wake[1] >= 0 else { return }
            var one: UInt8 = 1
            _ = Glibc.write(wake[1], &one, 1)
        }

        /// Hands `chunk` to a waiting reader, else keeps it (and wakes a thread reader).
        mutating func add(_ chunk: ByteBuffer) {
            if let waiting = reader {
                reader = nil
                waiting.resume(returning: chunk)
                return
            }
            chunks.append(chunk)
            bytes += chunk.readableBytes
            signal()
        }

        /// Takes the first chunk, letting a waiting writer go on once the pipe is under `window`.
        mutating func pop(window: Int) -> ByteBuffer? {
            guard let chunk = chunks.popFirst() else { return nil }
            bytes -= chunk.readableBytes
            if bytes <= window, let waiting = writer {
                writer = nil
                waiting.resume(returning: true)
            }
            signal()
            return chunk
        }
    }

    private let state = Mutex(State())
    /// Bytes the pipe holds before its writer waits.
    public let window: Int
    /// The body, when the pipe was made with all of it (a reader may take it in one piece).
    public let whole: ByteBuffer?

    public init(window: Int = 1 << 20) {
        self.window = window
        whole = nil
    }

    /// A pipe that already holds a whole body.
    public init(whole: ByteBuffer) {
        window = Int.max
        self.whole = whole
        state.withLock { state in
            if whole.readableBytes > 0 { state.chunks.append(whole) }
            state.bytes = whole.readableBytes
            state.ended = true
        }
    }

    deinit {
        state.withLock { state in
            for fd in state.wake where fd >= 0 { Glibc.close(fd) }
        }
    }

    // MARK: Writing

    /// Adds a chunk, waiting while the pipe holds more than `window` bytes. `false` when the reader
    /// is gone (or the pipe was finished): stop sending, the rest is not wanted.
    public func send(_ chunk: ByteBuffer) async -> Bool {
        let full = state.withLock { state -> Bool? in
            guard !state.readerGone, !state.ended else { return nil }
            state.add(chunk)
            return state.bytes > window
        }
        guard let full else { return false }
        guard full else { return true }
        return await withCheckedContinuation { continuation in
            state.withLock { state in
                if state.readerGone {
                    continuation.resume(returning: false)
                } else if state.bytes <= window {
                    continuation.resume(returning: true)
                } else {
                    state.writer = continuation
                }
            }
        }
    }

    /// A thread writer's `send`: adds the chunk without waiting (look at `hasRoom` before reading
    /// more). `false` when the reader is gone.
    func push(_ chunk: ByteBuffer) -> Bool {
        state.withLock { state in
            guard !state.readerGone else { return false }
            state.add(chunk)
            return true
        }
    }

    /// Whether a thread writer may push more now.
    var hasRoom: Bool { state.withLock { $0.bytes < window || $0.readerGone } }

    var isReaderGone: Bool { state.withLock { $0.readerGone } }

    /// The body is complete (`error` nil) or broken off with `error`, which the reader gets after what is already in the pipe.
    public func finish(throwing error: (any Error)? = nil) {
        state.withLock { state in
            guard !state.ended else { return }
            state.ended = true
            state.failure = error
            if state.chunks.isEmpty, let reader = state.reader {
                state.reader = nil
                if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
            }
            state.signal()
        }
    }

    // MARK: Reading

    /// The reader wants no more: a waiting writer is let go, and later chunks are dropped.
    public func readerDone() {
        state.withLock { state in
            guard !state.readerGone else { return }
            state.readerGone = true
            state.chunks.removeAll()
            state.bytes = 0
            if let writer = state.writer {
                state.writer = nil
                writer.resume(returning: false)
            }
            if let reader = state.reader {
                state.reader = nil
                reader.resume(returning: nil)
            }
            state.signal()
        }
    }

    /// A thread reader's `next`: what is there now, without waiting.
    func take() -> Take {
        state.withLock { state in
            if let chunk = state.pop(window: window) { return .chunk(chunk) }
            if state.readerGone { return .end }
            guard state.ended else { return .empty }
            if let failure = state.failure { return .failed(failure) }
            return .end
        }
    }

    /// Readable after any change a thread side waits for (a chunk, the end, room, the reader gone);
    /// empty it with `clearWake`.
    var wakeDescriptor: Int32 {
        state.withLock { state in
            if state.wake[0] < 0, stratus_pipe_cloexec(&state.wake) == 0 {
                for fd in state.wake { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
                // Anything that happened before the thread looked counts.
                state.signal()
            }
            return state.wake[0]
        }
    }

    func clearWake() {
        let fd = state.withLock { $0.wake[0] }
        guard fd >= 0 else { return }
        var scratch = [UInt8](repeating: 0, count: 64)
        while scratch.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    fileprivate func next() async throws -> ByteBuffer? {
        enum Now {
            case chunk(ByteBuffer)
            case end
            case failed(any Error)
            case wait
        }
        let now = state.withLock { state -> Now in
            if let chunk = state.pop(window: window) { return .chunk(chunk) }
            if state.readerGone { return .end }
            guard state.ended else { return .wait }
            return state.failure.map { .failed($0) } ?? .end
        }
        switch now {
        case .chunk(let chunk): return chunk
        case .end: return nil
        case .failed(let error): throw error
        case .wait: break
        }
        return try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                if let chunk = state.pop(window: window) {
                    continuation.resume(returning: chunk)
                } else if state.readerGone {
                    continuation.resume(returning: nil)
                } else if state.ended {
                    if let failure = state.failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                } else {
                    state.reader = continuation
                }
            }
        }
    }

    public func makeAsyncIterator() -> Iterator { Iterator(reader: Reader(pipe: self)) }

    public struct Iterator: AsyncIteratorProtocol {
        fileprivate let reader: Reader

        public mutating func next() async throws -> ByteBuffer? { try await reader.pipe.next() }
    }

    /// Tells the pipe its reader is gone when the last copy of its iterator is dropped.
    fileprivate final class Reader: Sendable {
        let pipe: ChunkPipe
        init(pipe: ChunkPipe) { self.pipe = pipe }
        deinit { pipe.readerDone() }
    }
}
