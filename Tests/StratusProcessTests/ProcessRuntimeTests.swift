import Foundation
import StratusModel
import Testing
@testable import StratusProcess

/// Real processes through the classic-watchdog runner: bodies, environment, exits, and misbehaviour.
struct ProcessRuntimeTests {
    let runtime = ProcessRuntime(bundleDirectory: FileManager.default.temporaryDirectory)

    func run(_ command: String, body: String = "", env: [(String, String)] = [], timeout: Double = 10, outputLimit: Int = 64 * 1024 * 1024) async throws -> GuestResult {
        let function = try runtime.load(command: command, bundle: nil, settings: FunctionSettings(timeout: timeout))
        return await runtime.run(function, request: GuestRequest(stdin: Array(body.utf8), environment: env, arguments: [], outputLimit: outputLimit))
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Running, not merely a zombie waiting for a reaper (in containers PID 1 may never reap).
    func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test func catEchoesTheBody() async throws {
        let result = try await run("cat", body: "Hi from a process")
        #expect(result.outcome == .exited(0))
        #expect(text(result.stdout) == "Hi from a process")
    }

    @Test func seesTheWatchdogEnvironmentButNotTheServers() async throws {
        setenv("STRATUS_SERVER_SECRET", "hidden", 1)
        let result = try await run(#"sh -c 'echo "$Http_Method $MY_VAR ${STRATUS_SERVER_SECRET:-none}"'"#, env: [("Http_Method", "PUT"), ("MY_VAR", "x")])
        #expect(text(result.stdout) == "PUT x none\n")
    }

    @Test func nonZeroExitIsReportedWithStderr() async throws {
        let result = try await run("sh -c 'echo failing >&2; exit 3'")
        #expect(result.outcome == .exited(3))
        #expect(text(result.stderr) == "failing\n")
    }

    @Test func crashIsReportedAsASignal() async throws {
        let result = try await run("sh -c 'echo partial; kill -SEGV $$'")
        #expect(result.outcome == .trapped("the process was killed by signal 11"))
    }

    @Test func timeoutKillsTheWholeProcessGroup() async throws {
        let result = try await run("sh -c 'sleep 30 & echo $! >&2; wait'", timeout: 0.3)
        #expect(result.outcome == .timedOut)
        let child = try #require(Int32(text(result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(100_000)
        #expect(!isAlive(child), "the background child died with its group")
    }

    @Test func childrenThatOutliveTheRequestAreKilled() async throws {
        // The orphan holds stdout open for 600 s: a runtime that waited for it would end the call
        // at its 120 s timeout instead (no wall-clock check needed, whatever the machine's load).
        let result = try await run("sh -c 'sleep 600 & echo $! >&2; echo done'", timeout: 120)
        #expect(result.outcome == .exited(0), "the call did not wait for the orphan: \(result.outcome)")
        #expect(text(result.stdout) == "done\n")
        let child = try #require(Int32(text(result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(100_000)
        #expect(!isAlive(child))
    }

    @Test func processThatNeverReadsStdinStillAnswers() async throws {
        let body = String(repeating: "x", count: 8 * 1024 * 1024)
        let result = try await run("echo ignored-the-body", body: body)
        #expect(result.outcome == .exited(0))
        #expect(text(result.stdout) == "ignored-the-body\n")
    }

    @Test func exitingImmediatelyWithABodyIsFine() async throws {
        let result = try await run("true", body: String(repeating: "y", count: 1024 * 1024))
        #expect(result.outcome == .exited(0))
    }

    @Test func outputOverTheLimitIsCutOff() async throws {
        let result = try await run("head -c 100000000 /dev/zero", outputLimit: 4 * 1024 * 1024)
        guard case .failed(let why) = result.outcome else {
            Issue.record("expected a failure, got \(result.outcome)")
            return
        }
        #expect(why.contains("over the limit"))
        #expect(result.stdout.isEmpty)
    }

    @Test func missingCommandsAreRefusedAtLoad() {
        #expect(throws: ProcessError.commandNotFound("no-such-command-xyz")) {
            try runtime.load(command: "no-such-command-xyz --flag", bundle: nil, settings: FunctionSettings())
        }
        #expect(throws: ProcessError.emptyCommand) { try runtime.load(command: "   ", bundle: nil, settings: FunctionSettings()) }
    }

    @Test func splitsCommandsLikeAShell() {
        #expect(CommandSplitter.split(#"python3 -c "print('a b')"  x\ y"#) == ["python3", "-c", "print('a b')", "x y"])
        #expect(CommandSplitter.split("  cat  ") == ["cat"])
        #expect(CommandSplitter.split("") == [])
    }
}

/// rlimits from the function's settings, applied through prlimit.
struct ProcessLimitTests {
    let runtime = ProcessRuntime(bundleDirectory: FileManager.default.temporaryDirectory)

    func run(_ command: String, settings: FunctionSettings) async throws -> GuestResult {
        let function = try runtime.load(command: command, bundle: nil, settings: settings)
        return await runtime.run(function, request: GuestRequest(stdin: [], environment: [], arguments: []))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")))
    func openFilesAndMemoryAreCapped() async throws {
        let files = try await run("sh -c 'ulimit -n'", settings: FunctionSettings())
        #expect(String(decoding: files.stdout, as: UTF8.self) == "1024\n")
        var capped = FunctionSettings()
        capped.explicitMemoryLimit = 64 * 1024 * 1024
        let hog = "python3 -c 'x = bytearray(200 * 1024 * 1024); print(len(x))'"
        #expect(try await run(hog, settings: capped).outcome != .exited(0), "200 MB under a 64 MiB cap fails")
        #expect(try await run(hog, settings: FunctionSettings()).outcome == .exited(0), "without limits.memory there is no cap")
    }
}

/// `stratus serve --function-user`: names and numbers from the system's user database; never root.
struct FunctionUserTests {
    @Test func parsesNamesAndNumbers() throws {
        #expect(try FunctionUser(parsing: "nobody") == FunctionUser(uid: 65534, gid: 65534))
        #expect(try FunctionUser(parsing: "daemon") == FunctionUser(uid: 1, gid: 1))
        #expect(try FunctionUser(parsing: "1234:4321") == FunctionUser(uid: 1234, gid: 4321))
        #expect(try FunctionUser(parsing: "daemon:nogroup") == FunctionUser(uid: 1, gid: 65534))
    }

    @Test func refusesRootAndUnknownNames() {
        #expect(throws: ProcessError.self) { try FunctionUser(parsing: "root") }
        #expect(throws: ProcessError.self) { try FunctionUser(parsing: "0") }
        #expect(throws: ProcessError.self) { try FunctionUser(parsing: "no-such-user-here") }
        #expect(throws: ProcessError.self) { try FunctionUser(parsing: "daemon:no-such-group") }
        #expect(throws: ProcessError.self) { try FunctionUser(parsing: "") }
    }

    @Test(.enabled(if: getuid() == 0, "only root can switch users"))
    func functionsRunAsTheConfiguredUserWithAProcessLimit() async throws {
        let runtime = ProcessRuntime(bundleDirectory: FileManager.default.temporaryDirectory, user: try FunctionUser(parsing: "daemon"))
        let function = try runtime.load(command: "sh -c 'id -u; grep processes /proc/self/limits'", bundle: nil, settings: FunctionSettings(timeout: 10))
        let result = await runtime.run(function, request: GuestRequest(stdin: [], environment: [], arguments: ["f"], outputLimit: 1024))
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "1")
        #expect(lines.last?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.map(String.init) == String(ProcessRuntime.processLimit))
    }
}

/// Function processes inherit nothing of the server's but stdio: a descriptor the server opened
/// without O_CLOEXEC (Foundation's Process pipes are such) once kept another child's pipe open forever.
struct DescriptorInheritanceTests {
    @Test func childrenGetOnlyTheirStdio() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let runtime = ProcessRuntime(bundleDirectory: FileManager.default.temporaryDirectory)
        let function = try runtime.load(command: "sh -c 'ls /proc/$$/fd'", bundle: nil, settings: FunctionSettings(timeout: 10))
        let result = await runtime.run(function, request: GuestRequest(stdin: [], environment: [], arguments: ["f"], outputLimit: 4096))
        let open = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        #expect(!open.contains(fds[0]) && !open.contains(fds[1]), "the pipe \(fds) leaked into the function: \(open)")
        #expect(open.contains(0) && open.contains(1) && open.contains(2))
    }
}

/// Replica ports: never given twice while in use, and a listener is recognised as the replica's own.
@Suite struct PortTests {
    @Test func theLedgerNeverHandsOutAPortTwiceAndListenersAreTracedToTheirProcessGroup() throws {
        let ledger = PortLedger()
        let ports = try (0..<200).map { _ in try ledger.take() }
        #expect(Set(ports).count == 200, "200 live replicas, 200 different ports")
        for port in ports { ledger.release(port) }

        // A socket listening in this process belongs to this process group, and to no other.
        let (fd, port) = LoopbackSockets.listener()
        defer { close(fd) }
        #expect(ListenerOwnership.owner(port: port, processGroup: getpgrp()) == true)
        #expect(ListenerOwnership.owner(port: port, processGroup: 999_999) == false)
        #expect(ListenerOwnership.owner(port: try HTTPFunction.freePort(), processGroup: getpgrp()) == nil, "nobody listens there")
    }

    /// A listener opened after many connections exist is still found (the kernel lists listening
    /// sockets first, and the reader stops after them).
    @Test func listenersAreFoundAmongManyConnections() throws {
        let (first, firstPort) = LoopbackSockets.listener()
        var open = [first]
        defer { for fd in open { close(fd) } }
        for _ in 0..<100 { open.append(LoopbackSockets.connect(to: firstPort).fd) }
        let (late, latePort) = LoopbackSockets.listener()
        open.append(late)
        #expect(ListenerOwnership.owner(port: latePort, processGroup: getpgrp()) == true)
        #expect(ListenerOwnership.owner(port: firstPort, processGroup: getpgrp()) == true)
    }

    /// The kernel's answer (sock_diag) and /proc's agree on which socket holds a connection, and it
    /// is the client's own descriptor.
    @Test func aConnectionsClientSocketIsFoundByItsPorts() throws {
        let (server, serverPort) = LoopbackSockets.listener()
        defer { close(server) }
        let (client, clientPort) = LoopbackSockets.connect(to: serverPort)
        defer { close(client) }

        let inode = try #require(ConnectionOwnership.clientInode(port: clientPort, serverPort: serverPort))
        #expect(ConnectionOwnership.procClientInode(port: clientPort, serverPort: serverPort) == inode)
        #expect(ConnectionOwnership.link("/proc/self/fd/\(client)") == "socket:[\(inode)]")
        #expect(ConnectionOwnership.clientInode(port: clientPort, serverPort: serverPort + 1 == 65536 ? 1 : serverPort + 1) == nil)
        #expect(ConnectionOwnership.heldByTree(peerPort: clientPort, localPort: serverPort, root: getpid()))
    }
}

/// Loopback TCP sockets for the /proc and sock_diag look-ups.
enum LoopbackSockets {
    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// The port a socket is bound to.
    static func port(of fd: Int32) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A socket listening on a free loopback port, and the port.
    static func listener() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = address(port: 0)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 128)
        return (fd, port(of: fd))
    }

    /// A socket connected to `port` on loopback, and its own port.
    static func connect(to port: Int) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = address(port: port)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return (fd, Self.port(of: fd))
    }
}
