public import Foundation

/// The OCI runtime configuration (runc's `config.json`) a container replica runs with: the image's
/// program, environment, working directory and user; its own mount, pid, ipc and uts namespaces
/// (the network is the host's: the watchdog listens on a loopback port Stratus gives it); a
/// read-only root filesystem with a private `/tmp`; the function's secrets read-only at
/// `/var/openfaas/secrets`; no capabilities and no new privileges; a memory limit when set.
///
/// The port is not known until a replica starts: every `@PORT@` in the text is replaced then.
public struct ContainerConfig: Sendable {
    public static let portPlaceholder = "@PORT@"
    public static let secretsPath = "/var/openfaas/secrets"

    /// The config's JSON text, with `@PORT@` where the replica's port goes.
    /// `cpu` is Kubernetes's `limits.cpu` (`500m`, `0.5`, `2`): a CFS quota of that many cores.
    public static func json(image: PulledImage, rootfs: URL, hostname: String, environment: [(String, String)], secrets: URL?,
                            memoryLimit: Int?, cpu: String? = nil, command: [String]? = nil) throws -> Data {
        let arguments = command ?? (image.entrypoint + image.cmd)
        var env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        for entry in image.env {
            env.removeAll { $0.split(separator: "=", maxSplits: 1).first == entry.split(separator: "=", maxSplits: 1).first }
            env.append(entry)
        }
        for (key, value) in environment + [("port", portPlaceholder), ("PORT", portPlaceholder), ("http_port", portPlaceholder)] {
            env.removeAll { $0.split(separator: "=", maxSplits: 1).first.map(String.init) == key }
            env.append("\(key)=\(value)")
        }
        let (uid, gid) = user(image.user, rootfs: rootfs)
        var mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
            ["destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]],
            ["destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]],
            ["destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]],
            ["destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]],
            ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]],
        ]
        if let secrets {
            mounts.append(["destination": secretsPath, "type": "bind", "source": secrets.path, "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]])
        }
        var linux: [String: Any] = [
            "namespaces": [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        ]
        var resources: [String: Any] = [:]
        if let memoryLimit { resources["memory"] = ["limit": memoryLimit] }
        if let cpu {
            guard let millicores = millicores(cpu) else { throw ConfigError(text: "limits.cpu '\(cpu)' is not a CPU quantity (e.g. 500m, 0.5, 2)") }
            resources["cpu"] = ["quota": millicores * 100, "period": 100_000]
        }
        if !resources.isEmpty { linux["resources"] = resources }
        let none: [String] = []
        let config: [String: Any] = [
            "ociVersion": "1.0.2",
            "hostname": String(hostname.prefix(63)),
            "root": ["path": rootfs.path, "readonly": true],
            "process": [
                "terminal": false,
                "user": ["uid": uid, "gid": gid],
                "args": arguments,
                "env": env,
                "cwd": image.workingDir.isEmpty ? "/" : image.workingDir,
                "capabilities": ["bounding": none, "effective": none, "inheritable": none, "permitted": none, "ambient": none],
                "rlimits": [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]],
                "noNewPrivileges": true,
            ],
            "mounts": mounts,
            "linux": linux,
        ]
        return try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
    }

    /// Kubernetes's CPU quantity in thousandths of a core (`500m` → 500, `1.5` → 1500); `nil` when malformed.
    public static func millicores(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("m"), let value = Int(trimmed.dropLast()), value > 0 { return value }
        if let value = Double(trimmed), value > 0, value.isFinite, value <= 1024 { return max(1, Int((value * 1000).rounded())) }
        return nil
    }

    /// The image's `User` as numbers: `uid[:gid]`, or a name looked up in the image's /etc/passwd
    /// (and /etc/group); nobody (65534) when the image names none or an unknown one.
    static func user(_ text: String, rootfs: URL) -> (Int, Int) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty else { return (65534, 65534) }
        func lookup(_ file: String, _ key: String) -> (Int, Int?)? {
            guard let text = try? String(contentsOf: rootfs.appendingPathComponent(file), encoding: .utf8) else { return nil }
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                if fields.count > 3, fields[0] == key, let id = Int(fields[2]) { return (id, Int(fields[3])) }
            }
            return nil
        }
        let uid: Int, defaultGid: Int
        if let number = Int(name) {
            uid = number
            defaultGid = number
        } else if let (id, gid) = lookup("etc/passwd", name) {
            uid = id
            defaultGid = gid ?? id
        } else {
            return (65534, 65534)
        }
        guard parts.count > 1 else { return (uid, defaultGid) }
        if let number = Int(parts[1]) { return (uid, number) }
        return (uid, lookup("etc/group", parts[1])?.0 ?? defaultGid)
    }
}

/// A setting the container cannot be configured with; the text says which.
public struct ConfigError: Error, CustomStringConvertible {
    public let text: String
    public var description: String { text }
}
