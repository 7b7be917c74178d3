import CStratusSys
import Foundation
import NIOCore
public import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One call's process, however it was started (spawned here, or forked by a replica's launcher).
protocol CallProcess {
    /// The wait status once the process has exited, without waiting (what it left behind is killed then).
    mutating func exited() -> Int32?
    /// Kills its process group.
    func kill()
    /// Waits for the wait status.
    mutating func wait() -> Int32
}

/// A process this server spawned for the call: its own process group.
struct SpawnedProcess: CallProcess {
    let pid: pid_t

    mutating func exited() -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        // Children that outlive the request die with it; their pipe ends close, so reads end.
        Glibc.kill(-pid, SIGKILL)
        return status
    }

    func kill() { Glibc.kill(-pid, SIGKILL) }

    mutating func wait() -> Int32 {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Glibc.kill(-pid, SIGKILL)
        return status
    }
}

/// Where a classic call's body comes from and its answer goes.
public struct ClassicStreams: Sendable {
    /// The body as it arrives; `nil`: the request's `stdin` is the whole body.
    public var input: ChunkPipe?
    /// Where the answer streams once it has passed `streamAfter` bytes while the process still
    /// runs; `nil`: the answer is kept whole, whatever its size.
    public var output: ChunkPipe?
    public var streamAfter: Int

    public init(input: ChunkPipe? = nil, output: ChunkPipe? = nil, streamAfter: Int = Int.max) {
        self.input = input
        self.output = output
        self.streamAfter = streamAfter
    }

    /// The whole body in the request, the whole answer in the result.
    public static let whole = ClassicStreams()
}

/// How a classic call's answer begins.
public enum ClassicAnswer: Sendable {
    /// The process ended before its answer started streaming: the whole result.
    case finished(GuestResult)
    /// The answer streams through the output pipe (status 200, the head is out); the end comes later.
    case streaming
}

/// How a streamed call ended: its result (`stdout` empty: it went through the pipe) and the bytes written.
public typealias ClassicEnd = @Sendable (_ result: GuestResult, _ written: Int) -> Void

/// Why a streamed answer was cut off.
public struct CutAnswer: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// One request to a classic-mode function: start its process with fresh pipes, feed stdin (the
/// whole body, or the body as it arrives), collect stdout (or stream it once it is large) and
/// stderr, enforce the deadline and the output cap, and kill whatever the process left.
struct ClassicCall: Sendable {
    let request: GuestRequest
    let timeout: Double
    var streams = ClassicStreams.whole
    /// Told once, when the answer starts streaming.
    var onStream: @Sendable () -> Void = {}

    /// Bytes of stderr kept for the log; the rest is dropped.
    static let stderrLimit = 1024 * 1024

    /// Runs the call; `start` starts the process with the given stdin, stdout and stderr. Returns
    /// the result and the bytes the process wrote to stdout.
    func run(start: (_ stdin: Int32, _ stdout: Int32, _ stderr: Int32) -> Result<any CallProcess, SpawnFailure>) -> (GuestResult, Int) {
        let begin = ContinuousClock.now
        func result(_ outcome: GuestOutcome, _ stdout: [UInt8] = [], _ stderr: [UInt8] = [], written: Int = 0) -> (GuestResult, Int) {
            streams.input?.readerDone()
            return (GuestResult(outcome: outcome, stdout: stdout, stderr: stderr, duration: begin.duration(to: .now).seconds, coldStart: true), written)
        }
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard stratus_pipe_cloexec(&stdinPipe) == 0, stratus_pipe_cloexec(&stdoutPipe) == 0, stratus_pipe_cloexec(&stderrPipe) == 0 else {
            for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) }
            return result(.failed("cannot create pipes: \(String(cString: strerror(errno)))"))
        }
        let started = start(stdinPipe[0], stdoutPipe[1], stderrPipe[1])
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard case .success(var process) = started else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            if case .failure(let failure) = started { return result(.failed(failure.text)) }
            return result(.failed("cannot start the process"))
        }
        var io = PipeIO(stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0],
                        input: streams.input.map { .pipe($0) } ?? .bytes(request.stdin))
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var status: Int32?
        var stop: Stop?
        while io.isOpen {
            if status == nil { status = process.exited() }
            if ContinuousClock.now >= deadline, stop == nil {
                stop = .timedOut
                process.kill()
            }
            io.pump(timeoutMilliseconds: status != nil ? 10 : 20)
            if stop == nil, let reason = io.stopReason(outputLimit: request.outputLimit) {
                stop = reason
                process.kill()
                io.closeAll()
            }
            if stop == nil, let output = streams.output, !io.isStreaming, io.stdoutBytes.count > streams.streamAfter {
                io.stream(into: output)
                onStream()
            }
            if status != nil && stop == .timedOut { io.closeAll() }
        }
        let final = status ?? process.wait()
        process.kill()
        let stderr = Array(io.stderrBytes.prefix(Self.stderrLimit))
        let outcome: GuestOutcome = switch stop {
        case .timedOut: .timedOut
        case .outputOverLimit: .failed("the response is over the limit of \(request.outputLimit) bytes")
        case .inputFailed(let why): .failed(why)
        case .abandoned: .failed("the caller went away before the answer was sent")
        case nil: final & 0x7f != 0 ? .trapped("the process was killed by signal \(final & 0x7f)") : .exited((final >> 8) & 0xff)
        }
        if io.isStreaming, let output = streams.output {
            output.finish(throwing: Self.cut(outcome, timeout: timeout))
            return result(outcome, [], stderr, written: io.written)
        }
        let stdout: [UInt8] = switch outcome {
        case .exited, .trapped: io.stdoutBytes
        default: []
        }
        return result(outcome, stdout, stderr, written: io.written)
    }

    /// Runs `work` (which runs this call) on a call thread of its own and returns as soon as the answer's
    /// start is known: the whole result, or that it streams (its end then goes to `onEnd`).
    func onThread(onEnd: ClassicEnd?, _ work: @escaping @Sendable (ClassicCall) -> (GuestResult, Int)) async -> ClassicAnswer {
        await withCheckedContinuation { continuation in
            onThread(onStart: { continuation.resume(returning: $0) }, onEnd: onEnd, work)
        }
    }

    /// Runs `work` on a call thread of its own and tells `onStart`, from that thread, how the answer
    /// starts: the whole result, or that it streams (its end then goes to `onEnd`).
    func onThread(onStart: @escaping @Sendable (ClassicAnswer) -> Void, onEnd: ClassicEnd?,
                  _ work: @escaping @Sendable (ClassicCall) -> (GuestResult, Int)) {
        CallThreads.shared.run {
            var call = self
            let streaming = Flag()
            call.onStream = {
                streaming.value.store(true, ordering: .relaxed)
                onStart(.streaming)
            }
            let (result, written) = work(call)
            if streaming.value.load(ordering: .relaxed) { onEnd?(result, written) } else { onStart(.finished(result)) }
        }
    }

    private final class Flag: Sendable {
        let value = Atomic(false)
    }

    /// Why a streamed answer is cut short, as the caller's connection ends it; `nil` when it ended well.
    static func cut(_ outcome: GuestOutcome, timeout: Double) -> CutAnswer? {
        switch outcome {
        case .exited(0): nil
        case .exited(let code): CutAnswer(description: "the function exited with code \(code) after its answer started")
        case .trapped(let why): CutAnswer(description: "the function failed after its answer started: \(why)")
        case .timedOut: CutAnswer(description: "the function timed out after \(timeout)s")
        case .failed(let why): CutAnswer(description: why)
        }
    }

    /// Why a call was stopped before its process ended by itself.
    enum Stop: Equatable {
        case timedOut
        case outputOverLimit
        case inputFailed(String)
        /// The caller stopped reading the streamed answer.
        case abandoned
    }
}

/// Non-blocking stdio of one child: feeds its stdin (a whole body, or a pipe of chunks as they
/// arrive), reads its stdout (kept, or streamed to a pipe) and stderr, tracks which ends are open.
struct PipeIO {
    enum Input {
        case bytes([UInt8])
        case pipe(ChunkPipe)
    }

    private var stdin: Int32
    private var stdout: Int32
    private var stderr: Int32
    private let input: Input
    /// Bytes of `.bytes` input written.
    private var offset = 0
    /// The chunk of `.pipe` input being written.
    private var pending: ByteBuffer?
    private(set) var inputFailure: String?
    private var output: ChunkPipe?
    private(set) var stdoutBytes: [UInt8] = []
    private(set) var stderrBytes: [UInt8] = []
    /// Bytes the process wrote to stdout, kept or streamed.
    private(set) var written = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    init(stdin: Int32, stdout: Int32, stderr: Int32, input: Input) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.input = input
        for fd in [stdin, stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        if case .bytes(let bytes) = input, bytes.isEmpty { closeStdin() }
    }

    var isOpen: Bool { stdout >= 0 || stderr >= 0 }
    var isStreaming: Bool { output != nil }

    /// From now on stdout goes to `pipe`, starting with what was kept.
    mutating func stream(into pipe: ChunkPipe) {
        output = pipe
        if !stdoutBytes.isEmpty { _ = pipe.push(ByteBuffer(bytes: stdoutBytes)) }
        stdoutBytes = []
    }

    /// Why the call must stop now, if it must: the answer is too large, the body broke off, or no one reads the answer.
    func stopReason(outputLimit: Int) -> ClassicCall.Stop? {
        if written > outputLimit { return .outputOverLimit }
        if let inputFailure { return .inputFailed(inputFailure) }
        if let output, output.isReaderGone { return .abandoned }
        return nil
    }

    /// Waits up to `timeoutMilliseconds` for any end to be ready and moves what it can.
    mutating func pump(timeoutMilliseconds: Int32) {
        var fds: [pollfd] = []
        if stdin >= 0, wantsToWrite() { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
        if stdout >= 0, output?.hasRoom ?? true { fds.append(pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)) }
        if stderr >= 0 { fds.append(pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)) }
        // The pipes' wake ends: a chunk or the body's end arrived, the answer's reader made room or left.
        if stdin >= 0, case .pipe(let pipe) = input, pending == nil { fds.append(pollfd(fd: pipe.wakeDescriptor, events: Int16(POLLIN), revents: 0)) }
        if let output { fds.append(pollfd(fd: output.wakeDescriptor, events: Int16(POLLIN), revents: 0)) }
        guard !fds.isEmpty, poll(&fds, nfds_t(fds.count), timeoutMilliseconds) > 0 else { return }
        for entry in fds where entry.revents != 0 {
            if entry.fd == stdin {
                writeInput()
            } else if entry.fd == stdout {
                if !readStdout() { close(stdout); stdout = -1 }
            } else if entry.fd == stderr {
                if !Self.drain(stderr, into: &stderrBytes, scratch: &scratch) { close(stderr); stderr = -1 }
            } else {
                if case .pipe(let pipe) = input, entry.fd == pipe.wakeDescriptor { pipe.clearWake() }
                if let output, entry.fd == output.wakeDescriptor { output.clearWake() }
            }
        }
    }

    /// Whether there is input to write now (taking the next chunk off the pipe when there is one).
    private mutating func wantsToWrite() -> Bool {
        guard case .pipe(let pipe) = input else { return true }
        if pending != nil { return true }
        switch pipe.take() {
        case .chunk(let chunk):
            pending = chunk
            return true
        case .empty:
            return false
        case .end:
            closeStdin()
        case .failed(let error):
            inputFailure = "\(error)"
            closeStdin()
        }
        return false
    }

    private mutating func writeInput() {
        let n: Int
        switch input {
        case .bytes(let bytes):
            n = bytes.withUnsafeBytes { write(stdin, $0.baseAddress! + offset, min(64 * 1024, $0.count - offset)) }
            if n > 0 { offset += n }
            if offset == bytes.count { closeStdin() }
        case .pipe:
            guard var chunk = pending else { return }
            n = chunk.withUnsafeReadableBytes { write(stdin, $0.baseAddress!, $0.count) }
            if n > 0 { chunk.moveReaderIndex(forwardBy: n) }
            pending = chunk.readableBytes > 0 ? chunk : nil
        }
        // The process closed its stdin (EPIPE; SIGPIPE is ignored by the server): stop feeding it.
        if n < 0 && errno != EAGAIN && errno != EINTR { closeStdin() }
    }

    /// Reads what stdout has; `false` once the other end closed (or failed).
    private mutating func readStdout() -> Bool {
        let n = scratch.withUnsafeMutableBytes { read(stdout, $0.baseAddress!, $0.count) }
        guard n > 0 else { return n < 0 && (errno == EAGAIN || errno == EINTR) }
        written += n
        if let output {
            _ = output.push(scratch.withUnsafeBytes { ByteBuffer(bytes: $0[0..<n]) })
        } else {
            stdoutBytes.append(contentsOf: scratch[0..<n])
        }
        return true
    }

    /// Reads what is available; `false` once the other end closed (or failed).
    private static func drain(_ fd: Int32, into buffer: inout [UInt8], scratch: inout [UInt8]) -> Bool {
        let n = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n > 0 {
            // What is past the log's limit is read and dropped.
            if buffer.count < ClassicCall.stderrLimit { buffer.append(contentsOf: scratch[0..<n]) }
            return true
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR)
    }

    private mutating func closeStdin() {
        if stdin >= 0 { close(stdin) }
        stdin = -1
        pending = nil
        // The rest of the body is not wanted: its sender stops.
        if case .pipe(let pipe) = input { pipe.readerDone() }
    }

    mutating func closeAll() {
        closeStdin()
        if stdout >= 0 { close(stdout) }
        if stderr >= 0 { close(stderr) }
        stdout = -1
        stderr = -1
    }
}
