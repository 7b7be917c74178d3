public import Foundation

/// A private PostgreSQL 15 server for tests (and `make cluster`): `initdb` into a temp directory,
/// `pg_ctl` on a free loopback port. PostgreSQL refuses to run as root, so as root it runs as the
/// `postgres` user (through `runuser`) in a directory that user owns.
public final class PostgresServer: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    private let listen: String
    static let binaries = "/usr/lib/postgresql/15/bin"

    /// Whether PostgreSQL 15 is installed (`make test` installs `postgresql-15`).
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "\(binaries)/initdb") }

    /// One server for the whole test process, started on first use; each test makes its own database.
    /// One server for a whole test process; stopped when the process exits (a static is never
    /// deinitialised, and the server would outlive the tests).
    public static let shared: PostgresServer = {
        let server: PostgresServer
        do { server = try PostgresServer() } catch { fatalError("cannot start PostgreSQL for the tests: \(error)") }
        atexit { PostgresServer.stopShared() }
        return server
    }()

    private static func stopShared() {
        try? shared.stop()
        try? FileManager.default.removeItem(at: shared.directory)
    }

    /// `listen`: addresses to listen on besides 127.0.0.1; `trust`: networks (CIDR) allowed in without a password.
    public init(listen: [String] = [], trust: [String] = []) throws {
        self.listen = (["127.0.0.1"] + listen).joined(separator: ",")
        directory = URL(fileURLWithPath: "/tmp/stratus-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if getuid() == 0 { _ = try Self.shell("chown postgres: \(directory.path)") }
        port = Self.freePort()
        _ = try run("initdb", ["-D", "\(directory.path)/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        for network in trust {
            _ = try run("/bin/sh", ["-c", "echo 'host all all \(network) trust' >> \(directory.path)/data/pg_hba.conf"])
        }
        try start()
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    public func url(database: String) -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Creates an empty database with a fresh name and returns its URL.
    public func makeDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        _ = try run("createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", name])
        return url(database: name)
    }

    /// Runs SQL with psql on `database`'s URL; returns its unaligned, tuples-only output.
    public func psql(_ url: String, _ sql: String) throws -> String {
        try Self.shell("/usr/bin/psql -X -q -t -A '\(url)' -c \"\(sql.replacingOccurrences(of: "\"", with: "\\\""))\"")
    }

    public func start() throws {
        _ = try run("pg_ctl", ["-D", "\(directory.path)/data", "-l", "\(directory.path)/log", "-w", "-t", "30", "start",
                               "-o", "-c listen_addresses=\(listen) -p \(port) -c unix_socket_directories=\(directory.path) -c fsync=off -c max_connections=200"])
    }

    /// Stops the server at once (`-m immediate`: what a crash or an outage looks like to clients).
    public func stop() throws {
        _ = try run("pg_ctl", ["-D", "\(directory.path)/data", "-w", "-t", "30", "-m", "immediate", "stop"])
    }

    deinit {
        try? stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let quoted = ([tool.hasPrefix("/") ? tool : "\(Self.binaries)/\(tool)"] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try Self.shell(getuid() == 0 ? "runuser -u postgres -- \(quoted)" : quoted)
    }

    @discardableResult
    static func shell(_ command: String) throws -> String {
        // Output to a file, not a pipe: the server pg_ctl starts would keep a pipe open forever.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: file) }
        // system(3), not Process: Foundation watches a child through a descriptor the server pg_ctl
        // starts would inherit, and would wait for that server to end. And the script first closes
        // every descriptor above stderr: the server lives on, and must not hold open the pipes and
        // sockets other tests of this process have open at this moment (they would never see EOF).
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString).sh")
        defer { try? FileManager.default.removeItem(at: script) }
        try Data("""
            for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
            (\(command)) > '\(file.path)' 2>&1 < /dev/null
            """.utf8).write(to: script)
        let status = "/bin/bash '\(script.path)'".withCString { line in system(line) }
        let output = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw NSError(domain: "PostgresServer", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "\(command): \(output)"])
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A loopback port nobody listens on now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
