import CStratusSys
import Foundation
import StratusModel

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

/// One request to a classic-mode function: start its process with fresh pipes, feed stdin, collect
/// stdout and stderr, enforce the deadline and the output cap, and kill whatever the process left.
struct ClassicCall {
    let request: GuestRequest
    let timeout: Double
    /// Bytes of stderr kept for the log; the rest is dropped.
    static let stderrLimit = 1024 * 1024

    /// Runs the call; `start` starts the process with the given stdin, stdout and stderr.
    func run(start: (_ stdin: Int32, _ stdout: Int32, _ stderr: Int32) -> Result<any CallProcess, SpawnFailure>) -> GuestResult {
        let begin = ContinuousClock.now
        func result(_ outcome: GuestOutcome, _ stdout: [UInt8] = [], _ stderr: [UInt8] = []) -> GuestResult {
            GuestResult(outcome: outcome, stdout: stdout, stderr: stderr, duration: begin.duration(to: .now).seconds, coldStart: true)
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
        var io = PipeIO(stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0], input: request.stdin)
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        var status: Int32?
        var timedOut = false
        var overLimit = false
        while io.isOpen {
            if status == nil { status = process.exited() }
            if ContinuousClock.now >= deadline, !timedOut {
                timedOut = true
                process.kill()
            }
            io.pump(timeoutMilliseconds: status != nil ? 10 : 20)
            if io.stdoutBytes.count > request.outputLimit, !overLimit {
                overLimit = true
                process.kill()
                io.closeAll()
            }
            if status != nil && timedOut { io.closeAll() }
        }
        let final = status ?? process.wait()
        process.kill()
        let stderr = Array(io.stderrBytes.prefix(Self.stderrLimit))
        if timedOut { return result(.timedOut, [], stderr) }
        if overLimit { return result(.failed("the response is over the limit of \(request.outputLimit) bytes"), [], stderr) }
        let signal = final & 0x7f
        if signal != 0 { return result(.trapped("the process was killed by signal \(signal)"), io.stdoutBytes, stderr) }
        return result(.exited((final >> 8) & 0xff), io.stdoutBytes, stderr)
    }
}

/// Non-blocking stdio of one child: writes the body, reads both outputs, tracks which ends are open.
struct PipeIO {
    private var stdin: Int32
    private var stdout: Int32
    private var stderr: Int32
    private let input: [UInt8]
    private var written = 0
    private(set) var stdoutBytes: [UInt8] = []
    private(set) var stderrBytes: [UInt8] = []

    init(stdin: Int32, stdout: Int32, stderr: Int32, input: [UInt8]) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.input = input
        for fd in [stdin, stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        if input.isEmpty { closeStdin() }
    }

    var isOpen: Bool { stdout >= 0 || stderr >= 0 }

    /// Waits up to `timeoutMilliseconds` for any end to be ready and moves what it can.
    mutating func pump(timeoutMilliseconds: Int32) {
        var fds: [pollfd] = []
        if stdin >= 0 { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
        if stdout >= 0 { fds.append(pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)) }
        if stderr >= 0 { fds.append(pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)) }
        guard !fds.isEmpty, poll(&fds, nfds_t(fds.count), timeoutMilliseconds) > 0 else { return }
        for entry in fds where entry.revents != 0 {
            if entry.fd == stdin {
                writeInput()
            } else if entry.fd == stdout {
                if !Self.drain(stdout, into: &stdoutBytes) { close(stdout); stdout = -1 }
            } else {
                if !Self.drain(stderr, into: &stderrBytes) { close(stderr); stderr = -1 }
            }
        }
    }

    private mutating func writeInput() {
        let n = input.withUnsafeBytes { write(stdin, $0.baseAddress! + written, min(64 * 1024, $0.count - written)) }
        if n > 0 { written += n }
        // Done, or the process closed its stdin (EPIPE; SIGPIPE is ignored by the server): stop feeding it.
        if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) { closeStdin() }
    }

    /// Reads what is available; `false` once the other end closed (or failed).
    private static func drain(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR)
    }

    private mutating func closeStdin() {
        if stdin >= 0 { close(stdin) }
        stdin = -1
    }

    mutating func closeAll() {
        closeStdin()
        if stdout >= 0 { close(stdout) }
        if stderr >= 0 { close(stderr) }
        stdout = -1
        stderr = -1
    }
}

