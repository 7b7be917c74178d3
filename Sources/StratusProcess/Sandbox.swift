public import Foundation

/// Runs process functions inside bubblewrap: a read-only view of the system, private `/tmp`,
/// `/proc` and pid namespace, Stratus's data directory hidden, only the function's own bundle and
/// its secrets (at `/var/openfaas/secrets`) mapped in.
public struct Sandbox: Sendable {
    /// The bubblewrap executable.
    let bwrap: String
    /// Host paths the function must never see (the data directory).
    let hidden: [String]
    /// Where secrets appear inside, when the mount point could be prepared on the host.
    let secretsMountPoint: String?

    public static let secretsPath = "/var/openfaas/secrets"
    /// Where a function's bundle appears inside, as in OpenFaaS containers.
    public static let functionPath = "/home/app"
    /// Where a classic replica's launcher (`stratus-launcher`) appears, inside the private `/tmp`.
    static let launcherPath = "/tmp/.stratus-launcher"
    /// Where a function's layers appear, as in Lambda and SCF.
    public static let layersPath = "/opt"

    /// A sandbox when `bwrap` exists and works here (it needs user or mount namespaces), else `nil`.
    public static func detect(hiding hidden: [URL]) -> Sandbox? {
        let candidates = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"]
        guard let bwrap = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: bwrap)
        probe.arguments = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--", "/bin/true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { return nil }
        // bwrap can only mount over a path that exists, and `/` is read-only inside: prepare it on the host.
        try? FileManager.default.createDirectory(atPath: secretsPath, withIntermediateDirectories: true)
        let mountPoint = FileManager.default.fileExists(atPath: secretsPath) ? secretsPath : nil
        return Sandbox(bwrap: bwrap, hidden: hidden.map(\.path), secretsMountPoint: mountPoint)
    }

    /// Whether secrets can be shown to functions.
    public var providesSecrets: Bool { secretsMountPoint != nil }

    /// The bwrap argv that runs `program` for `function`: its bundle at `/home/app` (also the working
    /// directory), its secrets at `/var/openfaas/secrets`, its layers at `/opt`; `binds` are more
    /// read-only files (host path, path inside), mounted after the private `/tmp`.
    func command(for function: ProcessFunction, program: [String], binds: [(String, String)] = []) -> (executable: String, arguments: [String]) {
        var argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp",
                    "--tmpfs", "/home", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        for path in hidden where FileManager.default.fileExists(atPath: path) { argv += ["--tmpfs", path] }
        for (host, inside) in binds { argv += ["--ro-bind", host, inside] }
        var workingDirectory = "/tmp"
        if let bundle = function.directory?.path {
            argv += ["--ro-bind", bundle, Self.functionPath]
            workingDirectory = Self.functionPath
        }
        if let secrets = function.secretsDirectory?.path, let mountPoint = secretsMountPoint {
            argv += ["--ro-bind", secrets, mountPoint]
        }
        if let layers = function.layerDirectory?.path {
            argv += ["--ro-bind", layers, Self.layersPath]
        }
        argv += ["--chdir", workingDirectory, "--"]
        return (bwrap, argv + program)
    }
}
