public import Foundation
public import StratusModel

/// Container replicas: an http-mode function whose replica process is a small shell supervisor
/// around `runc run`. The supervisor writes the replica's runc bundle (the function's config with
/// its port filled in), runs the container in the foreground, passes SIGTERM on to it, and deletes
/// it when it ends. runc does the isolation, so the supervisor runs as root outside bubblewrap,
/// with a parent-death signal; containers a killed server left behind are deleted at its next start.
public struct Containers: Sendable {
    /// `DATA/containers`: `state` (runc's root), `bundles` (one per running replica), `configs`
    /// (one per function), and the supervisor script.
    public let root: URL
    public let runc: String

    public init(root: URL, runc: String = Containers.findRunc()) throws {
        self.root = root
        self.runc = runc
        for folder in ["state", "bundles", "configs"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try Data(Self.supervisor.utf8).write(to: script)
    }

    /// runc from PATH's usual places.
    public static func findRunc() -> String {
        ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"].first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? "/usr/sbin/runc"
    }

    public var available: Bool { FileManager.default.isExecutableFile(atPath: runc) }

    var script: URL { root.appendingPathComponent("replica.sh") }

    /// Deletes every container in this server's runc root (left by a server that was killed).
    public func deleteLeftovers() -> Int {
        let list = Self.capture(runc, ["--root", root.appendingPathComponent("state").path, "list", "-q"])
        let ids = list.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        for id in ids { _ = Self.capture(runc, ["--root", root.appendingPathComponent("state").path, "delete", "--force", id]) }
        try? FileManager.default.removeItem(at: root.appendingPathComponent("bundles"))
        try? FileManager.default.createDirectory(at: root.appendingPathComponent("bundles"), withIntermediateDirectories: true)
        return ids.count
    }

    /// Keeps `config` (runc's config.json with `@PORT@` placeholders) for the function `key` and
    /// returns the function whose replicas run it.
    public func function(key: String, config: Data, settings: FunctionSettings) throws -> ProcessFunction {
        let safe = String(key.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(48))
        let file = root.appendingPathComponent("configs").appendingPathComponent("\(safe).json")
        try config.write(to: file, options: .atomic)
        let arguments = ["/bin/sh", script.path, runc, root.appendingPathComponent("state").path, root.appendingPathComponent("bundles").path,
                         file.path, "stratus-\(safe)"]
        let pdeath = FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"] : []
        var function = ProcessFunction(executable: "/bin/sh", launcher: pdeath, arguments: arguments, directory: nil, settings: settings,
                                       secretsDirectory: nil)
        function.replicaLauncher = pdeath
        return function
    }

    static func capture(_ tool: String, _ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The replica supervisor: `replica.sh RUNC STATE BUNDLES CONFIG PREFIX`, with `$PORT` set.
    static let supervisor = #"""
        #!/bin/sh
        # A Stratus container replica: runc's bundle for this replica, the container in the foreground,
        # SIGTERM passed on, the container deleted when it ends. Written by `stratus serve`.
        runc=$1 state=$2 bundles=$3 config=$4 id="$5-$PORT"
        bundle="$bundles/$id"
        mkdir -p "$bundle" || exit 125
        sed "s/@PORT@/$PORT/g" "$config" > "$bundle/config.json" || exit 125
        "$runc" --root "$state" delete --force "$id" >/dev/null 2>&1
        # TERM first; a container whose first process ignores it (PID 1 has no default handlers) is
        # killed a second later, inside the grace the server gives before it kills this script.
        stop() {
            "$runc" --root "$state" kill "$id" TERM >/dev/null 2>&1
            (sleep 1; "$runc" --root "$state" kill "$id" KILL >/dev/null 2>&1) &
        }
        trap stop TERM INT
        "$runc" --root "$state" run --bundle "$bundle" "$id" </dev/null &
        child=$!
        wait "$child"; status=$?
        while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
        "$runc" --root "$state" delete --force "$id" >/dev/null 2>&1
        rm -rf "$bundle"
        exit "$status"
        """#
}

extension ProcessRuntime {
    /// A container function's replicas (see `Containers`): http mode, outside the sandbox.
    public func containerHTTP(_ function: ProcessFunction, name: String, environment: [(String, String)], log: @escaping ReplicaLogSink) -> HTTPFunction {
        HTTPFunction(function: function, name: name, environment: self.environment(environment), sandbox: nil, log: log)
    }
}
