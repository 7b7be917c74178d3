import CStratusSys
import Foundation
public import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A classic-watchdog function (a process per call, body on stdin, answer on stdout) whose replicas
/// are launchers: long-lived processes started once inside the sandbox (namespaces, mounts, user,
/// rlimits set up once), each forking and exec'ing the function's command for every call it is
/// given, as the watchdog inside an OpenFaaS container does. A call goes to the least busy ready
/// launcher; each call still gets a fresh process in its own process group, killed at the timeout.
/// Without a launcher binary (`ProcessRuntime.launcher` unset) every call is spawned here instead,
/// through the sandbox each time, and replicas are only counted.
public final class ClassicFunction: Sendable {
    public let function: ProcessFunction
    let name: String
    /// Its launchers; `nil` when the server has no launcher binary.
    let replicas: ReplicaSet<LauncherDriver>?
    private let counted = Atomic<Int>(0)
    let runtime: ProcessRuntime

    init(function: ProcessFunction, name: String, runtime: ProcessRuntime, log: @escaping ReplicaLogSink) {
        self.function = function
        self.name = name
        self.runtime = runtime
        replicas = runtime.launcher.map { binary in
            ReplicaSet(driver: LauncherDriver(command: ReplicaCommand(function: function, name: name, environment: runtime.environment([]),
                                                                      sandbox: runtime.sandbox, log: log), binary: binary))
        }
    }

    public var desiredReplicas: Int { replicas?.desired ?? counted.load(ordering: .relaxed) }
    public var availableReplicas: Int { replicas?.available ?? counted.load(ordering: .relaxed) }

    public func resize(to count: Int) {
        if let replicas { replicas.resize(to: count) } else { counted.store(max(0, min(count, function.settings.maxReplicas)), ordering: .relaxed) }
    }

    public func waitUntilReady() async throws(ProcessError) { try await replicas?.waitUntilReady() }

    public func stop() async {
        if let replicas { await replicas.stop() } else { counted.store(0, ordering: .relaxed) }
    }

    /// Runs one call with the whole body in hand, the whole answer kept: on a ready launcher
    /// (waiting for one up to the ready timeout), or spawned here.
    public func run(_ request: GuestRequest) async -> GuestResult {
        guard case .finished(let result) = await start(request, streams: .whole, onEnd: nil) else {
            preconditionFailure("a call without an output pipe cannot stream")
        }
        return result
    }

    /// Runs one call whose body comes through `streams.input` as it arrives and whose answer, once
    /// it passes `streams.streamAfter` bytes while the process runs, streams through `streams.output`.
    /// Returns once the answer's start is known; a streamed answer's end goes to `onEnd`.
    public func start(_ request: GuestRequest, streams: ClassicStreams, onEnd: ClassicEnd?) async -> ClassicAnswer {
        guard let replicas else { return await runtime.start(function, request: request, streams: streams, onEnd: onEnd) }
        let begin = ContinuousClock.now
        let deadline = begin + .seconds(function.settings.readyTimeout)
        var wait = 1
        while true {
            let (running, stopped, _) = replicas.rotated()
            if let ticket = ticket(among: running) {
                return await withCheckedContinuation { started in
                    ticket.start(request, streams: streams, onStart: { started.resume(returning: $0) }, onEnd: onEnd)
                }
            }
            let why: String? = stopped ? "function '\(name)' was removed or replaced" : ContinuousClock.now > deadline
                ? "no replica of '\(name)' is ready after \(function.settings.readyTimeout)s: \(replicas.lastFailure ?? "no launcher became ready")" : nil
            if let why {
                streams.input?.readerDone()
                return .finished(GuestResult(outcome: .failed(why), stdout: [], stderr: [], duration: begin.duration(to: .now).seconds, coldStart: false))
            }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 20)
        }
    }
}

/// A ready launcher picked for a call that starts at once (`ClassicFunction.ticket()`).
public struct ClassicTicket: Sendable {
    let replica: LauncherReplica
    let function: ClassicFunction

    /// Runs the call on its launcher, on a thread of its own; `onStart` hears, from that thread, how
    /// the answer starts (the whole result, or that it streams through `streams.output`, its end then
    /// going to `onEnd`).
    public func start(_ request: GuestRequest, streams: ClassicStreams, onStart: @escaping @Sendable (ClassicAnswer) -> Void, onEnd: ClassicEnd?) {
        replica.start(request, environment: function.runtime.environment(request.environment), timeout: function.function.settings.timeout,
                      streams: streams, onStart: onStart, onEnd: onEnd)
    }
}

extension ClassicFunction {
    /// The least busy ready launcher, for a call that must start now without waiting; `nil` when
    /// none is ready (or the server has no launchers): the call takes the ordinary path.
    public func ticket() -> ClassicTicket? {
        guard let replicas else { return nil }
        return ticket(among: replicas.rotated().replicas)
    }

    /// The least busy ready launcher of `running`.
    private func ticket(among running: [LauncherReplica]) -> ClassicTicket? {
        running.filter(\.isReady).min { $0.inflight.load(ordering: .relaxed) < $1.inflight.load(ordering: .relaxed) }
            .map { ClassicTicket(replica: $0, function: self) }
    }
}

/// How a classic replica starts (`stratus-launcher`, in the sandbox, with a socket
/// to this server on fd 3) and when it is ready (it says so on the socket).
struct LauncherDriver: ReplicaDriver {
    let command: ReplicaCommand
    /// The `stratus-launcher` binary.
    let binary: String
    var noun: String { "launcher" }

    func launch(instance: String) async -> Result<(LauncherReplica, ReplicaProcess), SpawnFailure> {
        var pair: [Int32] = [-1, -1]
        guard stratus_seqpacket_pair(&pair) == 0 else {
            return .failure(SpawnFailure(text: "cannot create the launcher's socket: \(String(cString: strerror(errno)))"))
        }
        let line = command.function.launcherCommandLine(sandbox: command.sandbox, binary: binary)
        let launched = await ReplicaProcess.launch(line, in: command.function.directory, environment: command.environment, channel: pair[1],
                                                   instance: instance, log: log)
        close(pair[1])
        switch launched {
        case .success(let process): return .success((LauncherReplica(channel: pair[0]), process))
        case .failure(let failure):
            close(pair[0])
            return .failure(failure)
        }
    }

    func waitUntilReady(_ replica: LauncherReplica, process: ReplicaProcess, cancelled: @escaping @Sendable () -> Bool) async -> Readiness {
        await pollReadiness(timedOut: "its launcher did not start within \(settings.readyTimeout)s") {
            if replica.isReady { return .ready }
            return process.hasExited || replica.isClosed || cancelled() ? .gone : nil
        }
    }

    func failure(_ replica: LauncherReplica, how: String, wasReady: Bool) -> String {
        wasReady ? "its launcher \(how)" : "its launcher \(how) before it was ready (see `stratus logs \(name)`)"
    }

    func release(_ replica: LauncherReplica) { replica.close() }
}
