import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StratusModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An http-mode function (OpenFaaS of-watchdog `mode=http`): replicas of its process, each
/// listening on the loopback port Stratus gives it in `$PORT`, health-checked before they get
/// traffic, restarted with backoff when they exit, and requests proxied to the least busy one.
public final class HTTPFunction: Sendable {
    public let function: ProcessFunction
    let name: String
    let environment: [(String, String)]
    let sandbox: Sandbox?
    let log: ReplicaLogSink
    private let slots: ReplicaSlots<Replica>
    private let autoscaling = Mutex(Autoscaling())
    /// When a call last arrived or was running (nanoseconds of the continuous clock's uptime).
    private let lastActivity = Atomic<Int64>(0)

    /// The autoscaler's memory: the replica count set by deploy or by hand (it never scales below
    /// that on its own), the smoothed load, and since when the load has wanted fewer replicas.
    private struct Autoscaling {
        var baseline = 0
        var smoothed = 0.0
        var belowSince: ContinuousClock.Instant?
    }

    private typealias Slot = ReplicaSlots<Replica>.Slot

    /// One running replica process and its port.
    final class Replica: Sendable {
        let instance: String
        let port: Int
        let process: ReplicaProcess
        let ready = Atomic<Bool>(false)
        let inflight = Atomic<Int>(0)

        init(instance: String, port: Int, process: ReplicaProcess) {
            self.instance = instance
            self.port = port
            self.process = process
        }
    }

    init(function: ProcessFunction, name: String, environment: [(String, String)], sandbox: Sandbox?, log: @escaping ReplicaLogSink) {
        self.function = function
        self.name = name
        self.sandbox = sandbox
        self.log = log
        slots = ReplicaSlots(limit: function.settings.maxReplicas)
        // The port is Stratus's to give: drop any the function's own environment sets.
        let reserved: Set<String> = ["PORT", "http_port", "upstream_url", "mode"]
        self.environment = environment.filter { !reserved.contains($0.0) }
    }

    /// Replicas asked for.
    public var desiredReplicas: Int { slots.desired }

    /// Replicas ready for traffic now.
    public var availableReplicas: Int {
        slots.replicas.count { $0.ready.load(ordering: .relaxed) }
    }

    /// Starts or stops replicas until `count` run (clamped to the function's maximum); the autoscaler
    /// adds replicas above this count under load and takes them away again, but never goes below it
    /// (except to zero after idling, when `com.openfaas.scale.zero` is on).
    public func scale(to count: Int) {
        autoscaling.withLock { $0.baseline = min(max(count, 0), function.settings.maxReplicas) }
        resize(to: count)
        touch()
    }

    private func touch() {
        lastActivity.store(Int64(DispatchTime.now().uptimeNanoseconds), ordering: .relaxed)
    }

    /// Calls in flight on all replicas.
    public var inflight: Int {
        slots.replicas.reduce(0) { $0 + $1.inflight.load(ordering: .relaxed) }
    }

    /// One autoscaler step (called about once a second): follows the smoothed number of calls in
    /// flight with `ceil(load / com.openfaas.scale.target)` replicas, adding at once and removing
    /// after the load stayed lower for `com.stratus.scale.down-delay`; scales to zero after
    /// `com.openfaas.scale.zero-duration` without calls when `com.openfaas.scale.zero` is true.
    public func autoscaleTick() {
        let settings = function.settings
        let now = ContinuousClock.now
        let (current, stopped) = (slots.desired, slots.isStopped)
        guard !stopped else { return }
        let load = inflight
        if load > 0 { touch() }
        var decision: Int?
        autoscaling.withLock { memory in
            memory.smoothed = memory.smoothed * 0.5 + Double(load) * 0.5
            let wanted = Int((memory.smoothed / Double(settings.scaleTarget)).rounded(.up))
            if current > 0 && wanted > current {
                decision = min(wanted, settings.maxReplicas)
                memory.belowSince = nil
            } else if current > max(memory.baseline, 1) && wanted < current {
                if let since = memory.belowSince {
                    if since.duration(to: now) >= .seconds(settings.scaleDownDelay) {
                        decision = max(memory.baseline, wanted, 1)
                        memory.belowSince = nil
                    }
                } else {
                    memory.belowSince = now
                }
            } else {
                memory.belowSince = nil
            }
        }
        let idle = Double(Int64(DispatchTime.now().uptimeNanoseconds) - lastActivity.load(ordering: .relaxed)) / 1e9
        if settings.scaleToZero, current > 0, load == 0, idle >= settings.zeroDuration { decision = 0 }
        guard let decision, decision != current else { return }
        resize(to: decision)
        log("autoscaler", ["scaled \(name) from \(current) to \(decision) replica\(decision == 1 ? "" : "s") (calls in flight: \(load), idle \(Int(idle))s)"])
    }

    /// Starts or stops replicas until `count` run, leaving the baseline as it is.
    private func resize(to count: Int) {
        let (added, removed) = slots.resize(to: count)
        for slot in removed { retire(slot) }
        for slot in added { Task { await supervise(slot) } }
    }

    /// Stops every replica: callers in flight finish first (up to the function's timeout).
    public func stop() async {
        let all = slots.stopAll()
        await withTaskGroup(of: Void.self) { group in
            for slot in all { group.addTask { await self.retireNow(slot) } }
        }
    }

    /// Waits until a replica is ready; throws when every replica's first start failed, or after the ready timeout.
    public func waitUntilReady() async throws(ProcessError) {
        try await slots.waitUntilReady(readyTimeout: function.settings.readyTimeout, available: { availableReplicas },
                                       whatFailed: "no replica became ready")
    }

    // MARK: Supervision

    private func supervise(_ slot: Slot) async {
        var backoff = 0.1
        while !slot.isCancelled {
            let instance = "\(name)-\(slot.index)"
            let port: Int
            do { port = try PortLedger.shared.take() } catch {
                record(failure: "no free loopback port: \(error)")
                await pause(backoff, slot)
                continue
            }
            let variables = environment + [("PORT", String(port)), ("http_port", String(port)),
                                           ("upstream_url", "http://127.0.0.1:\(port)"), ("mode", "http")]
            let started = ContinuousClock.now
            let launched = await ReplicaProcess.launch(function, sandbox: sandbox, environment: variables, instance: instance, log: log)
            guard case .success(let process) = launched else {
                PortLedger.shared.release(port)
                if case .failure(let failure) = launched { record(failure: failure.text) }
                await pause(backoff, slot)
                backoff = min(backoff * 2, 30)
                continue
            }
            let replica = Replica(instance: instance, port: port, process: process)
            slot.current.withLock { $0 = replica }
            if slot.isCancelled { process.signal(SIGKILL) }
            let ready = await probe(replica, slot)
            var neverListened = false
            if ready {
                replica.ready.store(true, ordering: .relaxed)
                slots.started()
            } else if !process.hasExited && !slot.isCancelled {
                neverListened = true
                record(failure: "it did not accept connections on port \(port) ($PORT) within \(function.settings.readyTimeout)s")
                process.signal(SIGKILL)
            }
            let status = await process.exitStatus()
            replica.ready.store(false, ordering: .relaxed)
            slot.current.withLock { $0 = nil }
            PortLedger.shared.release(port)
            if slot.isCancelled { break }
            let how = Self.describe(status)
            if ready {
                record(failure: "its process \(how)", countsAsFailedStart: false)
            } else if !neverListened {
                record(failure: "its process \(how) before it accepted connections on $PORT (see `stratus logs \(name)`)")
            }
            // A replica that ran a while starts over with a short pause; one that keeps failing waits longer each time.
            if started.duration(to: .now) > .seconds(30) { backoff = 0.1 }
            log(instance, ["replica \(how); restarting in \(String(format: "%.1f", backoff))s"])
            await pause(backoff, slot)
            backoff = min(backoff * 2, 30)
        }
    }

    private func record(failure: String, countsAsFailedStart: Bool = true) {
        slots.record(failure: failure, countsAsFailedStart: countsAsFailedStart)
    }

    private func pause(_ seconds: Double, _ slot: Slot) async {
        await ReplicaSlots<Replica>.pause(seconds, slot)
    }

    /// Whether the replica accepts connections (and answers 2xx on the health path, when set) before its ready timeout.
    private func probe(_ replica: Replica, _ slot: Slot) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(function.settings.readyTimeout)
        var wait = 2
        while true {
            // Read before looking, so the replica always gets one look after the deadline: when this
            // task was not scheduled for a while (a busy host), a replica that is up by then counts.
            let late = ContinuousClock.now >= deadline
            if replica.process.hasExited || slot.isCancelled { return false }
            if await answers(replica) { return true }
            if late { return false }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 50)
        }
    }

    /// Whether this replica (not another program that took its port first) accepts connections on
    /// its port and, when the function has a health path, answers 2xx there.
    private func answers(_ replica: Replica) async -> Bool {
        guard Self.accepts(port: replica.port),
            ListenerOwnership.owner(port: replica.port, processGroup: replica.process.pid) != false
        else { return false }
        guard let path = function.settings.healthPath else { return true }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(replica.port)\(path)")
        request.method = .GET
        guard let response = try? await ProxyClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1024 * 1024)
        return (200..<300).contains(Int(response.status.code))
    }

    /// Ends a slot's replica after its callers finish, in the background.
    private func retire(_ slot: Slot) {
        slot.cancelled.store(true, ordering: .relaxed)
        Task { await retireNow(slot) }
    }

    private func retireNow(_ slot: Slot) async {
        slot.cancelled.store(true, ordering: .relaxed)
        guard let replica = slot.current.withLock({ $0 }) else { return }
        replica.ready.store(false, ordering: .relaxed)
        let drain = ContinuousClock.now + .seconds(function.settings.timeout)
        while replica.inflight.load(ordering: .relaxed) > 0, ContinuousClock.now < drain {
            try? await Task.sleep(for: .milliseconds(20))
        }
        replica.process.signal(SIGTERM)
        let grace = ContinuousClock.now + .seconds(2)
        while !replica.process.hasExited, ContinuousClock.now < grace {
            try? await Task.sleep(for: .milliseconds(20))
        }
        replica.process.signal(SIGKILL)
        _ = await replica.process.exitStatus()
    }

    // MARK: Calls

    /// The least busy ready replica, counted as busy by one more call; waits for one to become ready
    /// (starting one if the function was scaled to zero) until the ready timeout.
    func acquire() async -> Result<Replica, ProxyFailure> {
        let deadline = ContinuousClock.now + .seconds(function.settings.readyTimeout)
        var wait = 1
        while true {
            // Fewest calls in flight; ties go round the replicas so idle ones share the work.
            let (rotated, stopped, desired) = slots.rotated()
            let ready = rotated.filter { $0.ready.load(ordering: .relaxed) && !$0.process.hasExited }
            let picked = ready.min { $0.inflight.load(ordering: .relaxed) < $1.inflight.load(ordering: .relaxed) }
            picked?.inflight.add(1, ordering: .relaxed)
            if let picked {
                touch()
                return .success(picked)
            }
            if stopped { return .failure(.unavailable("function '\(name)' was removed or replaced")) }
            if desired == 0 {
                // Scale from zero: the call waits for the new replica instead of failing.
                touch()
                resize(to: 1)
            }
            if ContinuousClock.now > deadline {
                let why = slots.lastFailure ?? "no replica became ready"
                return .failure(.unavailable("no replica of '\(name)' is ready after \(function.settings.readyTimeout)s: \(why)"))
            }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 20)
        }
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal != 0 { return "was killed by signal \(signal)" }
        return "exited with status \((status >> 8) & 0xff)"
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A loopback port nobody listens on now (the kernel picks it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProcessError.io(String(cString: strerror(errno))) }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ProcessError.io(String(cString: strerror(errno))) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}

/// The HTTP client that carries proxied calls to replicas: one per process, kept alive with it,
/// never following redirects or decompressing (the caller gets exactly what the function sent).
enum ProxyClient {
    static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
