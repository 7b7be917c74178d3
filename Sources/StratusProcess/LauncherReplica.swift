import CStratusSys
import Foundation
import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One running launcher of a classic function: a reader thread waits for it to say it is ready (and
/// for its socket to close); each call hands the launcher a status pipe of its own beside its stdio,
/// and the launcher writes the call's exit status there, straight to the call's thread, which waits
/// on it beside its stdout and stderr.
final class LauncherReplica: SupervisedReplica {
    let inflight = Atomic<Int>(0)

    private struct State {
        var ready = false
        var retiring = false
        /// The socket is shut (the launcher or this server closed it); no more calls.
        var closed = false
        /// The socket's descriptor was closed by the reader: never touch it again.
        var released = false
        var nextID: UInt64 = 0
    }

    private let channel: Int32
    private let state = Mutex(State())

    /// The wait status a call gets when its launcher went away before it answered: killed, as by SIGKILL.
    static let launcherGone = SIGKILL

    init(channel: Int32) {
        self.channel = channel
        Thread.detachNewThread { [self] in readReplies() }
    }

    var isReady: Bool { state.withLock { $0.ready && !$0.closed && !$0.retiring } }
    var isBusy: Bool { inflight.load(ordering: .relaxed) > 0 }
    var isClosed: Bool { state.withLock { $0.closed } }

    func stopTakingCalls() { state.withLock { $0.retiring = true } }

    /// Its process ended: no more calls, and the ones it was running fail.
    func ended(_ how: String) { close() }

    /// Shuts the socket: the launcher (if still there) kills its calls and exits; the reader ends.
    func close() {
        state.withLock { state in
            state.closed = true
            if !state.released { shutdown(channel, Int32(SHUT_RDWR)) }
        }
    }

    private func readReplies() {
        var reply = stratus_launcher_reply()
        while stratus_launcher_receive(channel, &reply) == 0 {
            if Int(reply.type) == Int(STRATUS_LAUNCHER_READY) { state.withLock { $0.ready = true } }
        }
        // Gone: the calls it ran see their status pipes close (the launcher held their write ends).
        state.withLock { state in
            state.closed = true
            state.released = true
            Glibc.close(channel)
        }
    }

    /// Runs one call on a thread of its own: its process forked by the launcher with these pipes.
    /// `onStart` hears, from that thread, how the answer starts; a streamed answer's end goes to `onEnd`.
    func start(_ request: GuestRequest, environment: [(String, String)], timeout: Double, streams: ClassicStreams,
               onStart: @escaping @Sendable (ClassicAnswer) -> Void, onEnd: ClassicEnd?) {
        inflight.add(1, ordering: .relaxed)
        var block: [UInt8] = []
        for (key, value) in environment {
            block += Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8) + [0]
        }
        let variables = block
        let call = ClassicCall(request: request, timeout: timeout, streams: streams)
        call.onThread(onStart: onStart, onEnd: onEnd) { [self] call in
            defer { inflight.subtract(1, ordering: .relaxed) }
            var status: [Int32] = [-1, -1]
            guard stratus_pipe_cloexec(&status) == 0 else {
                streams.input?.readerDone()
                return (GuestResult(outcome: .failed("cannot create pipes: \(String(cString: strerror(errno)))"), stdout: [], stderr: [],
                                    duration: 0, coldStart: false), 0)
            }
            _ = fcntl(status[0], F_SETFL, fcntl(status[0], F_GETFL) | O_NONBLOCK)
            let result = call.run { stdin, stdout, stderr in
                let sent = state.withLock { state -> Result<UInt64, SpawnFailure> in
                    guard !state.closed else { return .failure(SpawnFailure(text: "the function's launcher stopped; it is being restarted")) }
                    state.nextID &+= 1
                    let callID = state.nextID
                    let code = variables.withUnsafeBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) {
                            stratus_launcher_send_spawn(channel, callID, $0.baseAddress, $0.count, stdin, stdout, stderr, status[1])
                        }
                    }
                    guard code == 0 else { return .failure(SpawnFailure(text: "cannot hand the call to the launcher: \(String(cString: strerror(errno)))")) }
                    return .success(callID)
                }
                // Only the launcher holds the write end now: its end of file means the launcher is gone.
                Glibc.close(status[1])
                status[1] = -1
                return sent.map { callID in
                    return LaunchedProcess(replica: self, id: callID, status: status[0]) as any CallProcess
                }
            }
            Glibc.close(status[0])
            if status[1] >= 0 { Glibc.close(status[1]) }
            return result
        }
    }

    /// Asks the launcher to kill call `id`'s process group.
    func kill(_ id: UInt64) {
        state.withLock { state in
            if !state.released { _ = stratus_launcher_send_kill(channel, id) }
        }
    }
}

/// A call's process as the launcher forked it: its exit status comes through the call's status pipe
/// (end of file there: the launcher went away, and the call counts as killed).
struct LaunchedProcess: CallProcess {
    let replica: LauncherReplica
    let id: UInt64
    /// The read end of the call's status pipe (non-blocking).
    let status: Int32

    /// The launcher said the process exited (and killed its group then): nothing is left to kill.
    private var reaped = false

    init(replica: LauncherReplica, id: UInt64, status: Int32) {
        self.replica = replica
        self.id = id
        self.status = status
    }

    mutating func exited() -> Int32? {
        var value: Int64 = 0
        let n = withUnsafeMutableBytes(of: &value) { read(status, $0.baseAddress, 8) }
        if n == 0 {
            reaped = true
            return LauncherReplica.launcherGone
        }
        guard n == 8 else { return nil }
        reaped = true
        return Int32(truncatingIfNeeded: value)
    }

    func kill() {
        if !reaped { replica.kill(id) }
    }

    mutating func wait() -> Int32 {
        while true {
            if let value = exited() { return value }
            var watched = pollfd(fd: status, events: Int16(POLLIN), revents: 0)
            _ = poll(&watched, 1, 1000)
        }
    }
}
