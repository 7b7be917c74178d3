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
        guard !inodes.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        var foreign = false
        // The replica's own group first: the common case ends at once.
        let groups = entries.compactMap(Int32.init).map { ($0, group(of: $0)) }
        let ordered = groups.filter { $0.1 == processGroup } + groups.filter { $0.1 != processGroup }
        for (pid, pidGroup) in ordered {
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for fd in fds {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                      target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()), inodes.contains(inode) else { continue }
                if pidGroup == processGroup { return true }
                foreign = true
            }
        }
        return foreign ? false : nil
    }

    /// The process group of `pid` (field 5 of /proc/PID/stat), or nil.
    static func group(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? pid_t(fields[2]) : nil
    }

    /// Inodes of the sockets listening on `port` (IPv4 and IPv6).
    static func listeningInodes(port: Int) -> Set<UInt64> {
        var inodes: Set<UInt64> = []
        let wanted = String(format: "%04X", port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                guard fields.count > 9, fields[3] == "0A", fields[1].hasSuffix(":" + wanted), let inode = UInt64(fields[9]) else { continue }
                inodes.insert(inode)
            }
        }
        return inodes
    }
}
