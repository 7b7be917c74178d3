import Foundation
import StratusTestSupport
import Testing

/// OpenFaaS-style container images: built by the test (buildah, a static busybox whose httpd plays
/// the watchdog), pushed to a private registry on loopback, deployed by reference through the real
/// API and CLI, and run under runc.
@Suite(.serialized, .enabled(if: ImageRegistry.available, "needs root, buildah, skopeo, umoci, runc, docker-registry and busybox-static"))
struct ContainerImageTests {
    /// The watchdog: busybox httpd on $port, running /www/cgi-bin/index.cgi for every request to `/`.
    static let watchdog = ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p ${port:-8080} -h /www"]

    /// A CGI that tells what the function sees.
    static let handler = #"""
        #!/bin/sh
        printf 'Content-Type: text/plain\r\n\r\n'
        body=$(cat)
        echo "handled $body" >&2
        echo "body=$body"
        echo "greeting=$GREETING"
        echo "secret=$(cat /var/openfaas/secrets/token 2>/dev/null || echo none)"
        echo "uid=$(id -u)"
        echo "procs=$(ls /proc | grep -c '^[0-9]')"
        test -e "$DATA_DIR" && echo data=visible || echo data=hidden
        (printf x > /written) 2>/dev/null && echo root=writable || echo root=readonly
        (printf x > /tmp/written) 2>/dev/null && echo tmp=writable || echo tmp=readonly
        """#

    /// The handler, and the watchdog's readiness path (`/_/health`, as OpenFaaS's watchdogs have it).
    static let files = ["www/cgi-bin/index.cgi": handler, "www/_/health": "OK\n"]

    func cli(_ server: ServerProcess, _ arguments: [String], stdin: String = "") throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path], stdin: stdin)
    }

    func deploy(_ server: ServerProcess, _ json: String) throws -> (status: Int, head: String, body: String) {
        try Curl.request("\(server.url)/system/functions", body: json,
                         headers: ["Content-Type: application/json", "Authorization: Basic " + Data("admin:\(server.password ?? "")".utf8).base64EncodedString()])
    }

    func containers(_ server: ServerProcess) throws -> Int {
        let state = server.dataDirectory.appendingPathComponent("containers/state").path
        return try WasmFixtures.output("/usr/sbin/runc", ["--root", state, "list", "-q"]).split(separator: "\n").count
    }

    @Test func anOpenFaaSImageDeploysAnswersScalesToZeroSurvivesARestartAndIsListed() throws {
        let registry = try ImageRegistry()
        let digest = try registry.push("acme/echo", tag: "1.0", files: Self.files, entrypoint: Self.watchdog,
                                       user: "app", env: ["GREETING=from-the-image"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-images-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServerProcess(dataDirectory: directory, arguments: ["--insecure-registry", registry.address])
        #expect(try cli(server, ["secret", "create", "token", "--from-literal", "s3cret"]).status == 0)

        let reference = "\(registry.address)/acme/echo:1.0"
        let deployed = try deploy(server, #"{"service": "echo", "image": "\#(reference)", "envVars": {"DATA_DIR": "\#(directory.path)"}, "secrets": ["token"], "limits": {"memory": "64Mi", "cpu": "500m"}}"#)
        #expect(deployed.status == 202, "\(deployed)")
        let answer = try cli(server, ["invoke", "echo"], stdin: "hello")
        #expect(answer.status == 0, "\(answer.stderr)")
        for line in ["body=hello", "greeting=from-the-image", "secret=s3cret", "uid=1000", "data=hidden", "root=readonly", "tmp=writable"] {
            #expect(answer.stdout.contains(line), "\(line) in:\n\(answer.stdout)")
        }
        let procs = answer.stdout.split(separator: "\n").first { $0.hasPrefix("procs=") }.flatMap { Int($0.dropFirst(6)) } ?? 999
        #expect(procs < 10, "its own pid namespace: \(procs) processes in /proc")
        // The container's stderr is the function's log; its limits are its cgroup's.
        #expect(Self.waitFor(5) { (try? cli(server, ["logs", "echo"]).stdout.contains("handled hello")) == true }, "the log has the container's stderr")
        let id = try WasmFixtures.output("/usr/sbin/runc", ["--root", directory.appendingPathComponent("containers/state").path, "list", "-q"])
            .split(separator: "\n").map(String.init).first { $0.contains("echo") } ?? ""
        let state = try WasmFixtures.output("/usr/sbin/runc", ["--root", directory.appendingPathComponent("containers/state").path, "state", id])
        let pid = ((try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])?["pid"] as? Int) ?? 0
        let cgroups = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
        // (cgroup v1, as here; on cgroup v2 the same limit is memory.max.)
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory") {
            let memory = cgroups.split(separator: "\n").first(where: { $0.contains(":memory:") })?.split(separator: ":").last.map(String.init) ?? "?"
            let limit = (try? String(contentsOfFile: "/sys/fs/cgroup/memory\(memory)/memory.limit_in_bytes", encoding: .utf8)) ?? "unreadable"
            #expect(limit.trimmingCharacters(in: .whitespacesAndNewlines) == "67108864", "limits.memory is the container's cgroup limit: \(cgroups)")
        }
        // A bad CPU quantity is refused at deploy.
        let badCPU = try deploy(server, #"{"service": "badcpu", "image": "\#(reference)", "limits": {"cpu": "lots"}}"#)
        #expect(badCPU.status == 400 && badCPU.body.contains("limits.cpu"), "\(badCPU)")

        // By digest too; `stratus images` lists the one image with both functions.
        let pinned = try deploy(server, #"{"service": "pinned", "image": "\#(registry.address)/acme/echo@\#(digest)"}"#)
        #expect(pinned.status == 202, "\(pinned)")
        #expect(try Curl.request("\(server.url)/function/pinned", body: "by digest").body.contains("body=by digest"))
        let images = try cli(server, ["images"])
        #expect(images.stdout.contains("acme/echo") && images.stdout.contains("echo,pinned"), "\(images.stdout)")
        #expect(try cli(server, ["describe", "echo"]).stdout.contains("image"))

        // Scale to zero: no container left; a call brings one back.
        #expect(try cli(server, ["scale", "echo", "--replicas", "0"]).status == 0)
        #expect(Self.waitFor(10) { (try? containers(server)) == 1 }, "only pinned's container remains")
        #expect(try Curl.request("\(server.url)/function/echo", body: "again").body.contains("body=again"))

        // A restart with the registry gone: the pulled image is kept, the functions answer.
        registry.stop()
        #expect(server.stop() == 0)
        let again = try ServerProcess(dataDirectory: directory, arguments: ["--insecure-registry", registry.address])
        defer { again.destroy() }
        #expect(try Curl.request("\(again.url)/function/echo", body: "after restart").body.contains("body=after restart"))
        #expect(try cli(again, ["images"]).stdout.contains("acme/echo"))
        // Removing the functions stops their containers.
        #expect(try cli(again, ["remove", "echo", "pinned"]).status == 0)
        #expect(Self.waitFor(10) { (try? containers(again)) == 0 }, "no container outlives its function")
    }

    @Test func anImageNoFunctionUsesIsRemovedAfterTheGracePeriod() throws {
        let registry = try ImageRegistry()
        try registry.push("acme/gc", tag: "1", files: Self.files, entrypoint: Self.watchdog)
        let server = try ServerProcess(arguments: ["--insecure-registry", registry.address, "--image-gc-after", "1s"])
        defer { server.destroy() }
        #expect(try deploy(server, #"{"service": "short", "image": "\#(registry.address)/acme/gc:1"}"#).status == 202)
        #expect(try Curl.request("\(server.url)/function/short", body: "x").body.contains("body=x"))
        Thread.sleep(forTimeInterval: 2)
        #expect(try cli(server, ["images"]).stdout.contains("acme/gc"), "in use: kept")
        #expect(try cli(server, ["remove", "short"]).status == 0)
        let auth = "Authorization: Basic " + Data("admin:\(server.password ?? "")".utf8).base64EncodedString()
        #expect(Self.waitFor(10) {
            guard let body = try? Curl.run(["-fsS", "-H", auth, "\(server.url)/system/images"]) else { return false }
            return body.hasPrefix("[") && !body.contains("acme/gc")
        }, "removed a second after its last function went")
        #expect(Self.waitFor(5) { server.output.contains("removed an unused container image") }, "\(server.output)")
    }

    @Test func aPrivateRegistryTakesTheCredentialsOfADockerConfigSecret() throws {
        let registry = try ImageRegistry(credentials: ("puller", "right-password"))
        try registry.push("acme/private", tag: "1", files: Self.files, entrypoint: Self.watchdog)
        let server = try ServerProcess(arguments: ["--insecure-registry", registry.address])
        defer { server.destroy() }
        let image = "\(registry.address)/acme/private:1"
        let anonymous = try deploy(server, #"{"service": "anon", "image": "\#(image)"}"#)
        #expect(anonymous.status == 502 && anonymous.body.contains("refused the credentials"), "\(anonymous)")
        #expect(try cli(server, ["secret", "create", "wrongcred", "--from-literal", registry.dockerConfig(user: "puller", password: "nope")]).status == 0)
        let wrong = try deploy(server, #"{"service": "wrong", "image": "\#(image)", "secrets": ["wrongcred"]}"#)
        #expect(wrong.status == 502 && wrong.body.contains("refused the credentials"), "\(wrong)")
        #expect(try Curl.status(["-X", "POST", "\(server.url)/function/wrong"]) == 404)
        #expect(try cli(server, ["secret", "create", "regcred", "--from-literal", registry.dockerConfig(user: "puller", password: "right-password")]).status == 0)
        let allowed = try deploy(server, #"{"service": "private", "image": "\#(image)", "secrets": ["regcred"]}"#)
        #expect(allowed.status == 202, "\(allowed)")
        #expect(try Curl.request("\(server.url)/function/private", body: "let me in").body.contains("body=let me in"))
    }

    @Test func badReferencesAndImagesAreClearErrorsAndDeployNothing() throws {
        let registry = try ImageRegistry()
        try registry.push("acme/ok", tag: "1", files: Self.files, entrypoint: Self.watchdog)
        try registry.push("acme/arm", tag: "1", files: [:], entrypoint: Self.watchdog, architecture: "arm64")
        try registry.push("acme/noentry", tag: "1", files: [:], entrypoint: nil)
        let escaping = "stratus-escaped-\(UUID().uuidString)"
        try registry.pushEscapingImage("acme/escape", tag: "1", escapingName: escaping)
        let server = try ServerProcess(arguments: ["--insecure-registry", registry.address])
        defer { server.destroy() }
        let closed = try ImageRegistry.freePort()
        let cases: [(String, Int, String)] = [
            ("127.0.0.1:\(closed)/acme/ok:1", 502, "cannot reach the registry 127.0.0.1:\(closed)"),
            ("\(registry.address)/acme/ok:2", 400, "is not in its registry"),
            ("\(registry.address)/acme/missing:1", 400, "is not in its registry"),
            ("\(registry.address)/acme/ok@sha256:\(String(repeating: "0", count: 64))", 400, "is not in its registry"),
            ("\(registry.address)/acme/arm:1", 400, "built for linux/arm64"),
            ("\(registry.address)/acme/noentry:1", 400, "names no program to run"),
            ("\(registry.address)/acme/escape:1", 400, "leaves the image's root (../../../../tmp/\(escaping))"),
        ]
        for (index, (image, status, message)) in cases.enumerated() {
            let answer = try deploy(server, #"{"service": "bad\#(index)", "image": "\#(image)"}"#)
            #expect(answer.status == status && answer.body.contains(message), "\(image): \(answer)")
            #expect(try Curl.status(["-X", "POST", "\(server.url)/function/bad\(index)"]) == 404, "nothing deployed for \(image)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(escaping)"), "nothing was written outside the image")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: server.dataDirectory.appendingPathComponent("images").path)) ?? []
        #expect(leftovers.filter { $0 != "tmp" }.isEmpty, "a refused image is not kept: \(leftovers)")
        // A plain-HTTP registry the server was not told about: 502, and what to do.
        let strict = try ServerProcess()
        defer { strict.destroy() }
        let refused = try deploy(strict, #"{"service": "plain", "image": "\#(registry.address)/acme/ok:1"}"#)
        #expect(refused.status == 502 && refused.body.contains("--insecure-registry \(registry.address)"), "\(refused)")
    }

    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool { ClusterTests.waitFor(seconds, condition) }
}

/// `stratus up --image-build`: a function with a Dockerfile is built with buildah, pushed, and deployed by reference.
@Suite(.serialized, .enabled(if: ImageRegistry.available, "needs root, buildah, skopeo, umoci, runc, docker-registry and busybox-static"))
struct ImageBuildTests {
    @Test func upWithImageBuildBuildsPushesAndDeploysADockerfileFunction() throws {
        let registry = try ImageRegistry()
        let server = try ServerProcess(arguments: ["--insecure-registry", registry.address])
        defer { server.destroy() }
        let project = server.dataDirectory.appendingPathComponent("project")
        let handler = project.appendingPathComponent("built")
        try FileManager.default.createDirectory(at: handler.appendingPathComponent("www/cgi-bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: handler.appendingPathComponent("www/_"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: handler.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: handler.appendingPathComponent("tmp").path)
        try FileManager.default.copyItem(atPath: "/usr/bin/busybox", toPath: handler.appendingPathComponent("busybox").path)
        try "OK\n".write(to: handler.appendingPathComponent("www/_/health"), atomically: true, encoding: .utf8)
        let cgi = handler.appendingPathComponent("www/cgi-bin/index.cgi")
        try "#!/bin/busybox sh\n/bin/busybox printf 'Content-Type: text/plain\\r\\n\\r\\n'\n/bin/busybox echo \"built: $(/bin/busybox cat)\"\n"
            .write(to: cgi, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: cgi.path)
        try """
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            COPY tmp /tmp
            USER 65534:65534
            ENTRYPOINT ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p ${port:-8080} -h /www"]
            """.write(to: handler.appendingPathComponent("Dockerfile"), atomically: true, encoding: .utf8)
        try """
            version: 1.0
            provider: {name: openfaas, gateway: \(server.url)}
            functions:
              built:
                lang: dockerfile
                handler: ./built
                image: \(registry.address)/acme/built:1
            """.write(to: project.appendingPathComponent("stack.yml"), atomically: true, encoding: .utf8)
        let up = try StratusBinary.run(["up", "--image-build", "--insecure-registry", registry.address, "-f", project.appendingPathComponent("stack.yml").path],
                                       environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(up.status == 0, "\(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("Building image \(registry.address)/acme/built:1") && up.stdout.contains("Pushing"), "\(up.stdout)")
        #expect(try Curl.request("\(server.url)/function/built", body: "from a Dockerfile").body == "built: from a Dockerfile\n")
        let images = try StratusBinary.run(["images", "--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(images.stdout.contains("acme/built"), "\(images.stdout)")
        // Without --image-build the Dockerfile function is not built here: it is deployed by its reference as it is.
        let plain = try StratusBinary.run(["up", "-f", project.appendingPathComponent("stack.yml").path], environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(plain.status == 0 && !plain.stdout.contains("Building image"), "\(plain.stdout)\(plain.stderr)")
    }
}
