import Foundation

/// A private OCI registry on loopback (Debian's docker-registry, the CNCF distribution registry)
/// and small images built for it with buildah from a static busybox: what the container image
/// tests deploy, with no Docker engine and no internet.
public final class ImageRegistry: @unchecked Sendable {
    public let port: Int
    public let root: URL
    /// The user and password the registry asks for, when it asks.
    public let credentials: (user: String, password: String)?
    private let process = Process()

    /// Whether this machine can build, push and run images (root, buildah, skopeo, umoci, runc, docker-registry, busybox).
    public static var available: Bool {
        getuid() == 0 && ["/usr/bin/docker-registry", "/usr/bin/buildah", "/usr/bin/skopeo", "/usr/bin/umoci", "/usr/bin/busybox"]
            .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
            && ["/usr/sbin/runc", "/usr/bin/runc"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public var address: String { "127.0.0.1:\(port)" }

    /// With `credentials`, pulls and pushes need that user and password (htpasswd, bcrypt).
    public init(credentials: (user: String, password: String)? = nil) throws {
        self.credentials = credentials
        root = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        port = try Self.freePort()
        let config = root.appendingPathComponent("config.yml")
        var auth = ""
        if let credentials {
            let hash = try WasmFixtures.output("/usr/bin/python3", ["-W", "ignore", "-c",
                "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", credentials.password])
            let file = root.appendingPathComponent("htpasswd")
            try "\(credentials.user):\(hash.trimmingCharacters(in: .whitespacesAndNewlines))\n".write(to: file, atomically: true, encoding: .utf8)
            auth = "auth:\n  htpasswd:\n    realm: stratus-test\n    path: \(file.path)\n"
        }
        try """
            version: 0.1
            storage:
              filesystem:
                rootdirectory: \(root.appendingPathComponent("storage").path)
            http:
              addr: 127.0.0.1:\(port)
            log:
              level: error
            \(auth)
            """.write(to: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", config.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if let status = try? Curl.status(["-s", "http://\(address)/v2/"]), status == 200 || status == 401 { return }
            usleep(50_000)
        }
        throw FixtureError("docker-registry did not start on \(address)")
    }

    /// Pushes an image whose one layer has an entry that climbs out of the root
    /// (`../../../../tmp/NAME`), written by hand as an OCI layout and copied with skopeo.
    public func pushEscapingImage(_ repository: String, tag: String, escapingName: String) throws {
        let layout = root.appendingPathComponent("escape-\(UUID().uuidString)")
        let script = #"""
            import gzip, hashlib, io, json, os, sys, tarfile
            layout, name = sys.argv[1], sys.argv[2]
            os.makedirs(layout + "/blobs/sha256")
            def blob(data):
                digest = hashlib.sha256(data).hexdigest()
                open(layout + "/blobs/sha256/" + digest, "wb").write(data)
                return "sha256:" + digest, len(data)
            raw = io.BytesIO()
            with tarfile.open(fileobj=raw, mode="w") as tar:
                for path, data in [("../../../../tmp/" + name, b"escaped"), ("bin/x", b"x")]:
                    info = tarfile.TarInfo(path); info.size = len(data); info.mode = 0o755
                    tar.addfile(info, io.BytesIO(data))
            layer, size = blob(gzip.compress(raw.getvalue()))
            config = {"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/bin/x"]},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]}}
            config_digest, config_size = blob(json.dumps(config).encode())
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": size}]}
            manifest_digest, manifest_size = blob(json.dumps(manifest).encode())
            json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": "escape"}}]},
                      open(layout + "/index.json", "w"))
            open(layout + "/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
            """#
        _ = try Self.tool("/usr/bin/python3", ["-c", script, layout.path, escapingName])
        let creds = credentials.map { ["--dest-creds", "\($0.user):\($0.password)"] } ?? []
        _ = try Self.tool("/usr/bin/skopeo", ["copy", "-q", "--dest-tls-verify=false"] + creds + ["oci:\(layout.path):escape", "docker://\(address)/\(repository):\(tag)"])
    }

    /// A Docker config (what a Kubernetes `.dockerconfigjson` secret holds) for this registry.
    public func dockerConfig(user: String, password: String) -> String {
        let token = Data("\(user):\(password)".utf8).base64EncodedString()
        return #"{"auths": {"\#(address)": {"auth": "\#(token)"}}}"#
    }

    /// Stops the registry (images pulled before stay with the server that pulled them).
    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: root)
    }

    /// Builds an image from scratch: a static busybox with `sh`, `cat`, `printf`, `ls`, `test` and
    /// `httpd`, plus `files` (path in the image → text, executable), with the given config; pushes
    /// it as `repository:tag` and returns its digest (`sha256:…`).
    @discardableResult
    public func push(_ repository: String, tag: String, files: [String: String], entrypoint: [String]?, user: String? = nil,
                     env: [String] = [], architecture: String? = nil) throws -> String {
        let context = root.appendingPathComponent("build-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: context) }
        let container = try Self.tool("/usr/bin/buildah", ["from", "scratch"]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Self.tool("/usr/bin/buildah", ["rm", container]) }
        let mount = URL(fileURLWithPath: try Self.tool("/usr/bin/buildah", ["mount", container]).trimmingCharacters(in: .whitespacesAndNewlines))
        for folder in ["bin", "tmp", "etc"] { try FileManager.default.createDirectory(at: mount.appendingPathComponent(folder), withIntermediateDirectories: true) }
        // /tmp as images have it (the OCI runtime gives the private /tmp the mode of the folder it covers).
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: mount.appendingPathComponent("tmp").path)
        try FileManager.default.copyItem(atPath: "/usr/bin/busybox", toPath: mount.appendingPathComponent("bin/busybox").path)
        for applet in ["sh", "cat", "printf", "ls", "test", "httpd", "echo", "id", "tr", "grep", "wc"] {
            try FileManager.default.createSymbolicLink(atPath: mount.appendingPathComponent("bin/\(applet)").path, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n".write(to: mount.appendingPathComponent("etc/passwd"), atomically: true, encoding: .utf8)
        for (path, text) in files {
            let target = mount.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: target, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
        }
        _ = try Self.tool("/usr/bin/buildah", ["umount", container])
        var config = ["config"]
        if let entrypoint {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: entrypoint), as: UTF8.self)
            config += ["--entrypoint", json]
        }
        if let user { config += ["--user", user] }
        for entry in env { config += ["--env", entry] }
        if let architecture { config += ["--arch", architecture] }
        _ = try Self.tool("/usr/bin/buildah", config + [container])
        let local = "localhost/stratus-test-\(UUID().uuidString.lowercased().prefix(8)):\(tag)"
        _ = try Self.tool("/usr/bin/buildah", ["commit", "-q", container, local])
        defer { _ = try? Self.tool("/usr/bin/buildah", ["rmi", local]) }
        let digestFile = context.appendingPathComponent("digest")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        let creds = credentials.map { ["--creds", "\($0.user):\($0.password)"] } ?? []
        _ = try Self.tool("/usr/bin/buildah", ["push", "-q", "--tls-verify=false"] + creds + ["--digestfile", digestFile.path, local, "docker://\(address)/\(repository):\(tag)"])
        return try String(contentsOf: digestFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func tool(_ path: String, _ arguments: [String]) throws -> String {
        try WasmFixtures.output(path, arguments)
    }

    /// A loopback port nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw FixtureError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
