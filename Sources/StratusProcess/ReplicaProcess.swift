import CStratusSys
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where a replica's output lines go: the instance that wrote them, then the lines.
public typealias ReplicaLogSink = @Sendable (_ instance: String, _ lines: [String]) -> Void

/// One running process of an http-mode function. It is spawned and watched from a thread of its
/// own that lives as long as the process (bubblewrap's `--die-with-parent` follows the spawning
/// thread), which forwards its stdout and stderr to the log line by line and reaps it.
final class ReplicaProcess: Sendable {
    private struct State {
        var pid: pid_t = 0
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let state = Mutex(State())
    /// Longest line kept whole; longer output is split.
    static let lineLimit = 16 * 1024

    /// Starts the process; the result comes back once it is spawned (or could not be).
    static func launch(_ function: ProcessFunction, sandbox: Sandbox?, environment: [(String, String)],
                       instance: String, log: @escaping ReplicaLogSink) async -> Result<ReplicaProcess, SpawnFailure> {
        await launch(function.commandLine(sandbox: sandbox), in: function.directory, environment: environment, instance: instance, log: log)
    }

    /// Starts `command` in `directory` (with `channel` as its fd 3, when set); the result comes back once it is spawned.
    static func launch(_ command: (executable: String, arguments: [String]), in directory: URL?, environment: [(String, String)],
                       channel: Int32? = nil, instance: String, log: @escaping ReplicaLogSink) async -> Result<ReplicaProcess, SpawnFailure> {
        let process = ReplicaProcess()
        return await withCheckedContinuation { started in
            Thread.detachNewThread {
                var output: [Int32] = [-1, -1], errors: [Int32] = [-1, -1]
                let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
                guard input >= 0, stratus_pipe_cloexec(&output) == 0, stratus_pipe_cloexec(&errors) == 0 else {
                    for fd in [input] + output + errors where fd >= 0 { close(fd) }
                    started.resume(returning: .failure(SpawnFailure(text: "cannot create pipes: \(String(cString: strerror(errno)))")))
                    return
                }
                let spawned = Spawner.spawn(command, in: directory, environment: environment, stdin: input, stdout: output[1], stderr: errors[1],
                                            channel: channel)
                close(input)
                close(output[1])
                close(errors[1])
                guard case .success(let pid) = spawned else {
                    close(output[0])
                    close(errors[0])
                    if case .failure(let failure) = spawned { started.resume(returning: .failure(failure)) }
                    return
                }
                process.state.withLock { $0.pid = pid }
                started.resume(returning: .success(process))
                let status = process.watch(pid: pid, stdout: output[0], stderr: errors[0], instance: instance, log: log)
                let waiters = process.state.withLock { state -> [CheckedContinuation<Int32, Never>] in
                    state.status = status
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: status) }
            }
        }
    }

    var hasExited: Bool { state.withLock { $0.status != nil } }

    /// The process id (also its process group's id); 0 before it is spawned.
    var pid: pid_t { state.withLock { $0.pid } }

    /// The wait status once the process has exited.
    func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Signals the whole process group, unless it has already exited.
    func signal(_ signal: Int32) {
        state.withLock { state in
            if state.status == nil, state.pid > 0 { kill(-state.pid, signal) }
        }
    }

    /// Pumps output to the log until the process exits and its pipes close; returns its wait status.
    private func watch(pid: pid_t, stdout: Int32, stderr: Int32, instance: String, log: ReplicaLogSink) -> Int32 {
        var streams = [LineStream(fd: stdout), LineStream(fd: stderr)]
        for stream in streams { _ = fcntl(stream.fd, F_SETFL, fcntl(stream.fd, F_GETFL) | O_NONBLOCK) }
        var status: Int32 = 0
        var reapedAt: ContinuousClock.Instant?
        while true {
            var fds = streams.filter { $0.fd >= 0 }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if !fds.isEmpty { _ = poll(&fds, nfds_t(fds.count), 100) } else { usleep(20_000) }
            var lines: [String] = []
            for index in streams.indices where streams[index].fd >= 0 { lines += streams[index].pump() }
            if !lines.isEmpty { log(instance, lines) }
            if reapedAt == nil, waitpid(pid, &status, WNOHANG) == pid {
                reapedAt = .now
                // Whatever it started goes with it; their pipe ends close, so the reads end.
                _ = state.withLock { _ in kill(-pid, SIGKILL) }
            }
            if let reapedAt, streams.allSatisfy({ $0.fd < 0 }) || reapedAt.duration(to: .now) > .seconds(1) { break }
        }
        var rest: [String] = []
        for index in streams.indices { rest += streams[index].finish() }
        if !rest.isEmpty { log(instance, rest) }
        return status
    }
}

/// A non-blocking pipe read as lines.
private struct LineStream {
    private(set) var fd: Int32
    private var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads what is there; returns complete lines. Closes the pipe at end of file.
    mutating func pump() -> [String] {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n > 0 {
            pending += chunk[0..<n]
        } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
            close(fd)
            fd = -1
        }
        var lines: [String] = []
        var start = 0
        while start < pending.count {
            if let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")), newline - start <= ReplicaProcess.lineLimit {
                lines.append(String(decoding: pending[start..<newline], as: UTF8.self))
                start = newline + 1
            } else if pending.count - start >= ReplicaProcess.lineLimit {
                lines.append(String(decoding: pending[start..<start + ReplicaProcess.lineLimit], as: UTF8.self))
                start += ReplicaProcess.lineLimit
            } else {
                break
            }
        }
        pending.removeFirst(start)
        return lines
    }

    /// The unterminated rest, once; closes the pipe.
    mutating func finish() -> [String] {
        if fd >= 0 { close(fd) }
        fd = -1
        defer { pending = [] }
        return pending.isEmpty ? [] : [String(decoding: pending, as: UTF8.self)]
    }
}
