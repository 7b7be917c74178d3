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
    let replicas: ReplicaSet<HTTPReplicaDriver>

    /// One running replica process and its port.
    final class Replica: SupervisedReplica {
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

        var isReady: Bool { ready.load(ordering: .relaxed) }
        var isBusy: Bool { inflight.load(ordering: .relaxed) > 0 }
        func stopTakingCalls() { ready.store(false, ordering: .relaxed) }
        func ended(_ how: String) { ready.store(false, ordering: .relaxed) }
    }

    init(function: ProcessFunction, name: String, environment: [(String, String)], sandbox: Sandbox?, log: @escaping ReplicaLogSink) {
        self.function = function
        self.name = name
        // The port is Stratus's to give: drop any the function's own environment sets.
        let reserved: Set<String> = ["PORT", "http_port", "upstream_url", "mode"]
        replicas = ReplicaSet(driver: HTTPReplicaDriver(command: ReplicaCommand(
            function: function, name: name, environment: environment.filter { !reserved.contains($0.0) }, sandbox: sandbox, log: log)))
    }

    /// Replicas asked for.
    public var desiredReplicas: Int { replicas.desired }

    /// Replicas ready for traffic now.
    public var availableReplicas: Int { replicas.available }

    /// Starts or stops replicas until `count` run (clamped to the function's maximum); replicas taken
    /// away finish their calls first.
    public func resize(to count: Int) { replicas.resize(to: count) }

    /// Stops every replica: callers in flight finish first (up to the function's timeout).
    public func stop() async { await replicas.stop() }

    /// Waits until a replica is ready; throws when every replica's first start failed, or after the ready timeout.
    public func waitUntilReady() async throws(ProcessError) { try await replicas.waitUntilReady() }

    // MARK: Calls

    /// A ready replica for a call that must not wait (the gateway's event-loop path), counted as
    /// busy until the lease's `release`; `nil` when none is ready now.
    public func lease() -> ReplicaLease? {
        let (rotated, _, _) = replicas.rotated()
        let ready = rotated.filter { $0.isReady && !$0.process.hasExited }
        guard let picked = ready.min(by: { $0.inflight.load(ordering: .relaxed) < $1.inflight.load(ordering: .relaxed) }) else { return nil }
        picked.inflight.add(1, ordering: .relaxed)
        return ReplicaLease(replica: picked, function: name, timeout: function.settings.timeout)
    }

    /// The least busy ready replica, counted as busy by one more call; waits for one to become ready
    /// (a function scaled from zero, a replica restarting) until the ready timeout.
    func acquire() async -> Result<Replica, ProxyFailure> {
        let deadline = ContinuousClock.now + .seconds(function.settings.readyTimeout)
        var wait = 1
        while true {
            // Fewest calls in flight; ties go round the replicas so idle ones share the work.
            let (rotated, stopped, _) = replicas.rotated()
            let ready = rotated.filter { $0.isReady && !$0.process.hasExited }
            let picked = ready.min { $0.inflight.load(ordering: .relaxed) < $1.inflight.load(ordering: .relaxed) }
            picked?.inflight.add(1, ordering: .relaxed)
            if let picked { return .success(picked) }
            if stopped { return .failure(.unavailable("function '\(name)' was removed or replaced")) }
            if ContinuousClock.now > deadline {
                let why = replicas.lastFailure ?? "no replica became ready"
                return .failure(.unavailable("no replica of '\(name)' is ready after \(function.settings.readyTimeout)s: \(why)"))
            }
            try? await Task.sleep(for: .milliseconds(wait))
            wait = min(wait * 2, 20)
        }
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

/// How an http-mode replica starts (a process given `$PORT`) and when it is ready (it accepts
/// connections on that port, and answers 2xx on the health path when the function has one).
struct HTTPReplicaDriver: ReplicaDriver {
    let command: ReplicaCommand
    var noun: String { "replica" }

    func launch(instance: String) async -> Result<(HTTPFunction.Replica, ReplicaProcess), SpawnFailure> {
        let port: Int
        do { port = try PortLedger.shared.take() } catch {
            return .failure(SpawnFailure(text: "no free loopback port: \(error)"))
        }
        let variables = [("PORT", String(port)), ("http_port", String(port)), ("upstream_url", "http://127.0.0.1:\(port)"), ("mode", "http")]
        switch await command.launch(instance: instance, variables: variables) {
        case .success(let process): return .success((HTTPFunction.Replica(instance: instance, port: port, process: process), process))
        case .failure(let failure):
            PortLedger.shared.release(port)
            return .failure(failure)
        }
    }

    /// Ready once the replica accepts connections (and answers 2xx on the health path, when set) before its ready timeout.
    func waitUntilReady(_ replica: HTTPFunction.Replica, process: ReplicaProcess, cancelled: @escaping @Sendable () -> Bool) async -> Readiness {
        let deadline = ContinuousClock.now + .seconds(settings.readyTimeout)
        // Sub-millisecond looks at first: a server that is up in a few milliseconds gets traffic then;
        // then every 2 ms (a refused connect costs one syscall) for the first seconds, when most
        // servers come up, and every 20 ms for a slow starter.
        let started = ContinuousClock.now
        var wait: Int64 = 250
        while true {
            // Read before looking, so the replica always gets one look after the deadline: when this
            // task was not scheduled for a while (a busy host), a replica that is up by then counts.
            let late = ContinuousClock.now >= deadline
            if process.hasExited || cancelled() { return .gone }
            if await answers(replica) {
                replica.ready.store(true, ordering: .relaxed)
                return .ready
            }
            if late {
                if let path = settings.healthPath, HTTPFunction.accepts(port: replica.port) {
                    return .stuck("it did not answer 2xx on its readiness path \(path) (port \(replica.port)) within \(settings.readyTimeout)s (\(FunctionSettings.healthPathAnnotation) sets the path)")
                }
                return .stuck("it did not accept connections on port \(replica.port) ($PORT) within \(settings.readyTimeout)s")
            }
            try? await Task.sleep(for: .microseconds(wait))
            wait = min(wait * 2, started.duration(to: .now) < .seconds(3) ? 2_000 : 20_000)
        }
    }

    func failure(_ replica: HTTPFunction.Replica, how: String, wasReady: Bool) -> String {
        wasReady ? "its process \(how)" : "its process \(how) before it accepted connections on $PORT (see `stratus logs \(name)`)"
    }

    func release(_ replica: HTTPFunction.Replica) { PortLedger.shared.release(replica.port) }

    /// Whether this replica (not another program that took its port first) accepts connections on
    /// its port and, when the function has a health path, answers 2xx there.
    private func answers(_ replica: HTTPFunction.Replica) async -> Bool {
        guard HTTPFunction.accepts(port: replica.port),
            ListenerOwnership.owner(port: replica.port, processGroup: replica.process.pid) != false
        else { return false }
        guard let path = settings.healthPath else { return true }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(replica.port)\(path)")
        request.method = .GET
        guard let response = try? await ProxyClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1024 * 1024)
        return (200..<300).contains(Int(response.status.code))
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

/// One call's hold on an http-mode replica, taken without waiting (`HTTPFunction.lease`).
public struct ReplicaLease: Sendable {
    fileprivate let replica: HTTPFunction.Replica
    let function: String
    /// The function's timeout, in seconds.
    public let timeout: Double

    public var port: Int { replica.port }
    public var instance: String { replica.instance }

    /// Whether the replica's process has exited.
    public var hasExited: Bool { replica.process.hasExited }

    /// The call is over: the replica is free for another.
    public func release() { replica.inflight.subtract(1, ordering: .relaxed) }

    /// What the caller is told when the replica failed the call (`error` is what the connection saw).
    public func failure(_ error: String) -> String {
        HTTPFunction.failure(exited: replica.process.hasExited, function: function, error: error)
    }
}
