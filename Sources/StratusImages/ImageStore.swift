public import Foundation
public import StratusModel

/// Why an image cannot be pulled or run; the message names the problem and is safe to show.
public enum ImageError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The registry cannot be reached (no such host, nothing listening, TLS to a plain-HTTP registry).
    case registryUnreachable(String, String)
    /// The repository, tag or digest is not in the registry.
    case notFound(String)
    /// The registry refused the credentials (or asked for some).
    case unauthorized(String)
    /// The image is for another platform.
    case wrongPlatform(String, String)
    /// The image names no program to run (no Entrypoint or Cmd).
    case noEntrypoint(String)
    /// A layer has an entry that would land outside the image's root (`..`, an absolute path).
    case unsafeLayer(String, String)
    /// skopeo or umoci is missing or failed; the text says what it printed.
    case tool(String)

    public var description: String {
        switch self {
        case .registryUnreachable(let registry, let why): "cannot reach the registry \(registry): \(why)"
        case .notFound(let reference): "\(reference) is not in its registry (check the repository, the tag or the digest)"
        case .unauthorized(let registry): "the registry \(registry) refused the credentials (or wants some)"
        case .wrongPlatform(let reference, let platform): "\(reference) is built for \(platform); this server runs linux/\(ImageStore.hostArchitecture)"
        case .noEntrypoint(let reference): "\(reference) names no program to run (no Entrypoint or Cmd): set one, or deploy it with fprocess"
        case .unsafeLayer(let reference, let entry): "\(reference) has a layer entry that leaves the image's root (\(entry)): refused"
        case .tool(let why): why
        }
    }

    /// 502 when the registry is the problem, 400 when the reference or the image is.
    public var isUpstream: Bool {
        switch self {
        case .registryUnreachable, .unauthorized, .tool: true
        default: false
        }
    }
}

/// An image pulled and unpacked, pinned by digest: what runs, and how the image says to run it.
public struct PulledImage: Codable, Sendable, Equatable {
    /// The reference it was pulled by (as the user wrote it) and the digest it is pinned to.
    public var reference: String
    public var digest: Digest
    public var architecture: String
    public var entrypoint: [String]
    public var cmd: [String]
    public var env: [String]
    public var workingDir: String
    public var user: String
    /// Bytes of the unpacked root filesystem.
    public var size: Int
    public var pulledAt: Date
}

/// Container images pulled from OCI registries with skopeo, pinned by digest, and unpacked once
/// per digest with umoci into `ROOT/<hex>/rootfs` (beside `image.json`, what the image says).
/// Plain-HTTP registries are used only when listed in `insecureRegistries`.
public actor ImageStore {
    public let root: URL
    let insecureRegistries: Set<String>
    let skopeo: String
    let umoci: String

    public init(root: URL, insecureRegistries: Set<String> = [], skopeo: String = "/usr/bin/skopeo", umoci: String = "/usr/bin/umoci") throws(ImageError) {
        self.root = root
        self.insecureRegistries = insecureRegistries
        self.skopeo = skopeo
        self.umoci = umoci
        do { try FileManager.default.createDirectory(at: root.appendingPathComponent("tmp"), withIntermediateDirectories: true) } catch {
            throw .tool("cannot create \(root.path): \(error.localizedDescription)")
        }
    }

    /// The architecture name OCI uses for this machine.
    public static var hostArchitecture: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown"
        #endif
    }

    /// Where `digest`'s unpacked image lives.
    public func directory(for digest: Digest) -> URL { root.appendingPathComponent(digest.hex) }

    /// Pulls `reference` (resolving a tag to its digest), checks its platform and program, and
    /// unpacks it unless that digest is already here.
    /// `credentials` is a Docker config (`{"auths": {"HOST": {"auth": base64(user:password)}}}`, what a
    /// Kubernetes `.dockerconfigjson` secret holds) for private registries.
    public func pull(_ reference: ImageReference, credentials: [UInt8]? = nil) async throws(ImageError) -> PulledImage {
        // Pinned and already here: nothing to ask the registry (it may be down).
        if let digest = reference.digest, let local = image(digest) { return local }
        var tls = insecureRegistries.contains(reference.registry) ? ["--tls-verify=false"] : []
        var auth: [String] = []
        let authFile = root.appendingPathComponent("tmp").appendingPathComponent("auth-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: authFile) }
        if let credentials {
            guard FileManager.default.createFile(atPath: authFile.path, contents: Data(credentials), attributes: [.posixPermissions: 0o600]) else {
                throw .tool("cannot write the registry credentials for \(reference.registry)")
            }
            auth = ["--authfile", authFile.path]
        }
        let inspected = try run(skopeo, ["inspect", "--retry-times", "0"] + tls + auth + ["docker://\(reference)"], reference: reference)
        guard let object = try? JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any],
            let digestText = object["Digest"] as? String, let digest = try? Digest(digestText)
        else { throw .tool("skopeo inspect gave no digest for \(reference)") }
        if let wanted = reference.digest, wanted != digest { throw .notFound(reference.description) }
        let architecture = object["Architecture"] as? String ?? "?", os = object["Os"] as? String ?? "?"
        guard os == "linux", architecture == Self.hostArchitecture else { throw .wrongPlatform(reference.description, "\(os)/\(architecture)") }
        let target = directory(for: digest)
        if let existing = image(in: target) { return existing }

        let work = root.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString)
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw .tool("cannot create \(work.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: work) }
        let layout = "oci:\(work.appendingPathComponent("layout").path):image"
        _ = try run(skopeo, ["copy", "--quiet", "--retry-times", "0"] + tls.map { $0.replacingOccurrences(of: "--tls", with: "--src-tls") }
                    + (auth.isEmpty ? [] : ["--src-authfile", authFile.path]) + ["docker://\(reference.pinned(to: digest))", layout], reference: reference)
        try checkLayers(in: work.appendingPathComponent("layout"), reference: reference)
        let configText = try run(skopeo, ["inspect", "--config", layout], reference: reference)
        let config = ((try? JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any])?["config"] as? [String: Any]) ?? [:]
        let entrypoint = config["Entrypoint"] as? [String] ?? [], cmd = config["Cmd"] as? [String] ?? []
        guard !(entrypoint + cmd).isEmpty else { throw .noEntrypoint(reference.description) }
        let unpacked = work.appendingPathComponent("image")
        _ = try run(umoci, ["unpack", "--image", "\(work.appendingPathComponent("layout").path):image", unpacked.path], reference: reference)
        let rootfs = unpacked.appendingPathComponent("rootfs")
        var image = PulledImage(reference: reference.description, digest: digest, architecture: architecture, entrypoint: entrypoint, cmd: cmd,
                                env: config["Env"] as? [String] ?? [], workingDir: config["WorkingDir"] as? String ?? "",
                                user: config["User"] as? String ?? "", size: Self.size(of: rootfs), pulledAt: Date())
        if image.workingDir.isEmpty { image.workingDir = "/" }
        do {
            let folder = work.appendingPathComponent("ready")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: rootfs, to: folder.appendingPathComponent("rootfs"))
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(image).write(to: folder.appendingPathComponent("image.json"))
            if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
            try FileManager.default.moveItem(at: folder, to: target)
        } catch {
            throw .tool("cannot keep the unpacked image in \(target.path): \(error.localizedDescription)")
        }
        return image
    }

    /// Refuses layers with entries outside the root (`../…`, `/…`) before anything is unpacked.
    /// (umoci would keep such entries inside the root anyway; an image that tries is not run.)
    private func checkLayers(in layout: URL, reference: ImageReference) throws(ImageError) {
        let blobs = layout.appendingPathComponent("blobs/sha256")
        guard let index = try? JSONSerialization.jsonObject(with: Data(contentsOf: layout.appendingPathComponent("index.json"))) as? [String: Any],
            let manifestDigest = ((index["manifests"] as? [[String: Any]])?.first?["digest"] as? String)?.dropFirst(7),
            let manifest = try? JSONSerialization.jsonObject(with: Data(contentsOf: blobs.appendingPathComponent(String(manifestDigest)))) as? [String: Any]
        else { throw .tool("the pulled image of \(reference) has no readable manifest") }
        for layer in (manifest["layers"] as? [[String: Any]]) ?? [] {
            guard let digest = (layer["digest"] as? String)?.split(separator: ":").last else { continue }
            let listing = try run("/bin/tar", ["-tf", blobs.appendingPathComponent(String(digest)).path], reference: reference)
            for entry in listing.split(separator: "\n") {
                let parts = entry.split(separator: "/", omittingEmptySubsequences: true)
                if entry.hasPrefix("/") || parts.contains("..") { throw .unsafeLayer(reference.description, String(entry.prefix(200))) }
            }
        }
    }

    /// Whether `bytes` look like a Docker config with registry credentials (a `.dockerconfigjson`).
    public static func isDockerConfig(_ bytes: [UInt8]) -> Bool {
        guard bytes.count < 1_000_000, let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return false }
        return object["auths"] is [String: Any]
    }

    /// Every image unpacked here, newest first.
    public func images() -> [PulledImage] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { $0.count == 64 }.compactMap { image(in: root.appendingPathComponent($0)) }.sorted { $0.pulledAt > $1.pulledAt }
    }

    /// `digest`'s image when it is unpacked here.
    public func image(_ digest: Digest) -> PulledImage? { image(in: directory(for: digest)) }

    /// Removes `digest`'s unpacked image.
    public func remove(_ digest: Digest) {
        try? FileManager.default.removeItem(at: directory(for: digest))
    }

    private func image(in folder: URL) -> PulledImage? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("image.json").path),
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("rootfs").path)
        else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(PulledImage.self, from: data)
    }

    static func size(of folder: URL) -> Int {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.fileSizeKey, .isSymbolicLinkKey]) else { return 0 }
        var total = 0
        for case let url as URL in walker {
            total += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
        }
        return total
    }

    /// Runs a tool; its stdout, or the error its stderr says.
    private func run(_ tool: String, _ arguments: [String], reference: ImageReference) throws(ImageError) -> String {
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw .tool("\(tool) is missing: container images need skopeo, umoci and tar (apt-get install skopeo umoci runc)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw .tool("cannot run \(tool): \(error.localizedDescription)") }
        let errorText = ErrorText()
        let reader = Thread { errorText.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorText.isSet { usleep(500) }
        guard process.terminationStatus != 0 else { return String(decoding: printed, as: UTF8.self) }
        throw Self.classify(errorText.text, tool: tool, reference: reference)
    }

    /// What skopeo's message means for the user.
    static func classify(_ message: String, tool: String, reference: ImageReference) -> ImageError {
        let text = message.lowercased()
        if text.contains("manifest unknown") || text.contains("name unknown") || text.contains("not found") && !text.contains("executable") {
            return .notFound(reference.description)
        }
        if text.contains("unauthorized") || text.contains("authentication required") || text.contains("denied") {
            return .unauthorized(reference.registry)
        }
        if text.contains("server gave http response to https client") {
            return .registryUnreachable(reference.registry, "it speaks plain HTTP: start the server with --insecure-registry \(reference.registry)")
        }
        if text.contains("connection refused") || text.contains("no such host") || text.contains("i/o timeout") || text.contains("network is unreachable")
            || text.contains("pinging container registry") {
            let line = message.split(separator: "\n").last.map(String.init) ?? message
            return .registryUnreachable(reference.registry, String(line.suffix(300)))
        }
        let last = message.split(separator: "\n").last.map(String.init) ?? message
        return .tool("\(URL(fileURLWithPath: tool).lastPathComponent) failed for \(reference): \(last.suffix(400))")
    }
}

/// What a tool wrote to stderr, read on another thread.
private final class ErrorText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var done = false
    func set(_ value: Data) { lock.withLock { data = value; done = true } }
    var isSet: Bool { lock.withLock { done } }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
