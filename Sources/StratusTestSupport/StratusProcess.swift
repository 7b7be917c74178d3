public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `stratus` binary as a user would: `serve` as a child process, CLI commands to completion.
public enum StratusBinary {
    /// `$STRATUS_BIN`, else `.build/debug/stratus` in the repository.
    public static var path: String {
        if let custom = ProcessInfo.processInfo.environment["STRATUS_BIN"], !custom.isEmpty { return custom }
        return WasmFixtures.repositoryRoot.appendingPathComponent(".build/debug/stratus").path
    }

    /// What a finished command printed and how it exited.
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `stratus <arguments>` in `directory` with `environment` added, feeding `stdin`.
    public static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], stdin: String = "") throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        let errorData = LockedData()
        let reader = Thread { errorData.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        return Output(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: errorData.value, as: UTF8.self))
    }
}

/// A `stratus serve` child process on a free port with its own data directory.
public final class ServerProcess: @unchecked Sendable {
    public let dataDirectory: URL
    public private(set) var port = 0
    private let process = Process()
    private let log = LockedData()

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Whether servers can be started on a host view without bubblewrap (`withoutBubblewrap`): it
    /// takes root, to mount over `bwrap` in a mount namespace of the server's own.
    public static var canHideBubblewrap: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    /// Starts the server and waits until it is listening. `withoutBubblewrap` starts it in a mount
    /// namespace of its own where `/usr/bin/bwrap` is hidden (see `canHideBubblewrap`), as on a
    /// host without bubblewrap.
    /// With `networkNamespace`, it runs inside that network namespace (`ip netns exec`).
    /// `environment` is added to the test's own.
    public init(dataDirectory: URL? = nil, arguments: [String] = [], withoutBubblewrap: Bool = false, networkNamespace: String? = nil,
                environment: [String: String] = [:]) throws {
        self.dataDirectory = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("stratus-it-\(UUID().uuidString)")
        let serve = ["serve", "--port", "0", "--data-dir", self.dataDirectory.path] + arguments
        if withoutBubblewrap {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c",
                                 #"mount --bind /dev/null /usr/bin/bwrap && exec "$0" "$@""#, StratusBinary.path] + serve
        } else if let networkNamespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", networkNamespace, StratusBinary.path] + serve
        } else {
            process.executableURL = URL(fileURLWithPath: StratusBinary.path)
            process.arguments = serve
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let log = log
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                log.finish()
            } else {
                log.append(chunk)
            }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let range = self.output.range(of: #"listening on https?://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(self.output[range].split(separator: ":").last ?? "") ?? 0
                return
            }
            if !process.isRunning {
                // What it printed last may still be in the pipe: read on until its end (bounded).
                for _ in 0..<250 where !log.isSet { usleep(20_000) }
                throw FixtureError("stratus serve exited early (status \(process.terminationStatus)):\n\(self.output)")
            }
            usleep(20_000)
        }
        throw FixtureError("stratus serve did not start listening within 60 s:\n\(self.output)")
    }

    /// Everything the server printed so far.
    public var output: String { String(decoding: log.value, as: UTF8.self) }

    /// The gateway password generated on first start.
    public var password: String? {
        guard let data = FileManager.default.contents(atPath: dataDirectory.appendingPathComponent("credentials").path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: String]
        else { return nil }
        return object["password"]
    }

    /// Sends SIGTERM and waits up to `timeout` seconds for the process to exit; returns its exit
    /// status, or -1 when it had to be killed (a shutdown that hangs fails the test, not the run).
    @discardableResult
    public func stop(timeout: Double = 30) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        return process.terminationStatus
    }

    /// SIGKILL, as a crash or the OOM killer would: no shutdown work runs.
    public func killHard() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The server's process id.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Stops the server and deletes its data.
    public func destroy() {
        stop()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    public var isRunning: Bool { process.isRunning }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Bytes appended from one thread and read from another.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var done = false

    func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
    func set(_ value: Data) { lock.withLock { data = value; done = true } }
    /// Marks the data complete (the writer reached the end of its input).
    func finish() { lock.withLock { done = true } }
    var value: Data { lock.withLock { data } }
    var isSet: Bool { lock.withLock { done } }
}
