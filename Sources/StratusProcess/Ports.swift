import CStratusSys
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The loopback ports given to live replicas of this server. The kernel hands out a free port, but
/// it stays free only until someone binds it: without the ledger two replicas starting at once
/// could be given the same port, and one would get the other's traffic.
final class PortLedger: Sendable {
    static let shared = PortLedger()
    private let taken = Mutex<Set<Int>>([])

    /// A port nobody listens on now and no other replica of this server was given.
    func take() throws -> Int {
        for _ in 0..<64 {
            let port = try HTTPFunction.freePort()
            if taken.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw ProcessError.io("no free loopback port after 64 tries")
    }

    /// The replica given `port` has exited.
    func release(_ port: Int) {
        _ = taken.withLock { $0.remove(port) }
    }
}

/// Who listens on a loopback port, from /proc: the sockets in LISTEN state on that port, and
/// whether a process of the given process group holds one of them.
enum ListenerOwnership {
    /// `true` when a process in `processGroup` holds a listening socket on `port`, `false` when a
    /// process of another group does, `nil` when /proc cannot tell (then trust the connect).
    static func owner(port: Int, processGroup: pid_t) -> Bool? {
        guard processGroup > 0 else { return nil }
        let inodes = listeningInodes(port: port)
        guard !inodes.isEmpty else { return nil }
        // The common case first, and cheaply: the replica's own processes (its group leader and what
        // it started) hold the socket. Only otherwise is every process looked at.
        // Descendants count whatever their group: a container's init (runc's child) has a session of its own.
        let own = [processGroup] + ConnectionOwnership.descendants(of: processGroup)
        if own.contains(where: { ConnectionOwnership.holds($0, any: inodes) }) { return true }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        var foreign = false
        for pid in entries.compactMap(Int32.init) where ConnectionOwnership.holds(pid, any: inodes) {
            // A process of the group that is not below its leader (it was passed on, or double-forked).
            if group(of: pid) == processGroup { return true }
            foreign = true
        }
        return foreign ? false : nil
    }

    /// The process group of `pid` (field 5 of /proc/PID/stat), or nil.
    static func group(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? pid_t(fields[2]) : nil
    }

    /// Inodes of the sockets listening on `port` (IPv4 and IPv6). The kernel lists listening sockets
    /// before all others, so reading stops at the first line that is not one: a machine with tens
    /// of thousands of connections (TIME_WAIT after a benchmark) costs no more than an idle one.
    static func listeningInodes(port: Int) -> Set<UInt64> {
        var inodes: Set<UInt64> = []
        let wanted = String(format: "%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            ConnectionOwnership.procLines(table) { line in
                let fields = line.split(separator: " ")
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                guard fields.count > 9, fields[0] != "sl" else { return true }
                guard fields[3] == "0A" else { return false }
                if fields[1].hasSuffix(":" + wanted), let inode = UInt64(fields[9]) { inodes.insert(inode) }
                return true
            }
        }
        return inodes
    }
}

/// Who holds the client end of a loopback TCP connection, from /proc: the runtime API serves only
/// the processes of its own replica.
enum ConnectionOwnership {
    /// Whether the connection from 127.0.0.1:`peerPort` to our `localPort` is held by `root` or one
    /// of its descendants; `false` when another process holds it or it cannot be found.
    static func heldByTree(peerPort: Int, localPort: Int, root: pid_t) -> Bool {
        guard root > 0, let inode = clientInode(port: peerPort, serverPort: localPort) else { return false }
        return ([root] + descendants(of: root)).contains { holds($0, any: [inode]) }
    }

    /// Whether `pid` holds one of the sockets `inodes` (its descriptors link to `socket:[INODE]`).
    static func holds(_ pid: pid_t, any inodes: Set<UInt64>) -> Bool {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return false }
        return fds.contains { fd in
            guard let target = link("/proc/\(pid)/fd/\(fd)"), target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast())
            else { return false }
            return inodes.contains(inode)
        }
    }

    /// Reads a /proc file in pieces (its size shows as 0, and it comes in pieces: read until EOF)
    /// until `piece` returns `false`; `false` when it cannot be opened.
    @discardableResult
    static func procRead(_ path: String, _ piece: (ArraySlice<UInt8>) -> Bool) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0, piece(chunk[0..<count]) else { return true }
        }
    }

    /// A /proc file read to its end.
    static func procText(_ path: String) -> String? {
        var bytes: [UInt8] = []
        guard procRead(path, { bytes += $0; return true }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A /proc file's lines until `line` returns `false` or the file ends.
    static func procLines(_ path: String, _ line: (Substring) -> Bool) {
        var pending: [UInt8] = []
        var going = true
        procRead(path) { piece in
            pending += piece
            while going, let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                going = line(Substring(String(decoding: pending[..<end], as: UTF8.self)))
                pending.removeSubrange(...end)
            }
            return going
        }
        if going, !pending.isEmpty { _ = line(Substring(String(decoding: pending, as: UTF8.self))) }
    }

    /// What a symbolic link holds, as written (a socket's is `socket:[INODE]`).
    static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The inode of the socket bound to `port` and connected to `serverPort`: asked of the kernel
    /// (sock_diag), else found in /proc/net/tcp and tcp6, whose size grows with every connection
    /// on the machine.
    static func clientInode(port: Int, serverPort: Int) -> UInt64? {
        let asked = stratus_tcp_socket_inode(Int32(port), Int32(serverPort))
        if asked > 0 { return UInt64(asked) }
        return procClientInode(port: port, serverPort: serverPort)
    }

    /// `clientInode` from /proc/net/tcp and tcp6.
    static func procClientInode(port: Int, serverPort: Int) -> UInt64? {
        let local = ":" + String(format: "%04X", port), remote = ":" + String(format: "%04X", serverPort)
        var found: UInt64?
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] where found == nil {
            procLines(table) { line in
                let fields = line.split(separator: " ")
                // sl local_address rem_address st ... inode (field 9)
                guard fields.count > 9, fields[1].hasSuffix(local), fields[2].hasSuffix(remote), let inode = UInt64(fields[9]), inode != 0
                else { return true }
                found = inode
                return false
            }
        }
        return found
    }

    /// Every process below `pid`, through /proc/PID/task/TID/children.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var found: [pid_t] = []
        var queue = [pid]
        while let next = queue.popLast(), found.count < 4096 {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(next)/task")) ?? []
            for task in tasks {
                guard let text = procText("/proc/\(next)/task/\(task)/children") else { continue }
                for child in text.split(separator: " ").compactMap({ pid_t($0) }) {
                    found.append(child)
                    queue.append(child)
                }
            }
        }
        return found
    }
}
