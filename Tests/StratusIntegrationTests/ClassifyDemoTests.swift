import Foundation
import StratusTestSupport
import Testing

/// The demo assets `make setup-models` builds under .cache/ (model, photos, ONNX Runtime).
enum DemoAssets {
    static let root = WasmFixtures.repositoryRoot
    static let model = root.appendingPathComponent(".cache/models/efficientnet-lite0.onnx")
    static let photos = root.appendingPathComponent(".cache/models/photos")
    static let library = root.appendingPathComponent(".cache/onnxruntime/lib/libonnxruntime.so")
    static var available: Bool {
        [model, photos.appendingPathComponent("cat.json"), library].allSatisfy { FileManager.default.fileExists(atPath: $0.path) }
    }
}

/// The demo functions (`make demo`), end to end through the real binary: `stratus up -f examples/stack.yml`
/// builds hello (Swift), pycon (the seed's python3) and classify (Embedded Swift guest + the EfficientNet-Lite0
/// model), and the seed's image classifier answers the top-3 labels.
@Suite(.serialized, .enabled(if: DemoAssets.available, "needs make setup-models (model, photos, ONNX Runtime)"))
struct ClassifyDemoTests {
    func post(_ server: ServerProcess, _ body: Data, accept: String? = nil, function: String = "classify", query: String = "") throws -> (status: Int, body: String) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--data-binary", "@-", "\(server.url)/function/\(function)\(query)"]
        if let accept { arguments += ["-H", "Accept: \(accept)"] }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = arguments
        let input = Pipe(), output = Pipe()
        curl.standardInput = input
        curl.standardOutput = output
        try curl.run()
        let writer = Thread { input.fileHandleForWriting.write(body); try? input.fileHandleForWriting.close() }
        writer.start()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    func photo(_ name: String) throws -> Data { try Data(contentsOf: DemoAssets.photos.appendingPathComponent(name)) }

    /// The demo uses EfficientNet-Lite's own evaluation transform (the central 87.5 %, bilinear): on
    /// every test photo its top-5 is the one ONNX Runtime (Python) gives after Pillow does the same
    /// transform (scripts/check_model.py --json), in the same order, each percentage within 2 points.
    @Test func theDemosTop5MatchesTheModelsOwnTransformInPython() throws {
        let reference = Process()
        reference.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        reference.arguments = [DemoAssets.root.appendingPathComponent("scripts/check_model.py").path, "--json",
                               DemoAssets.root.appendingPathComponent(".cache").path]
        reference.environment = ["PYTHONPATH": DemoAssets.root.appendingPathComponent(".cache/pylib").path, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        reference.standardOutput = output
        try reference.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        reference.waitUntilExit()
        #expect(reference.terminationStatus == 0)
        struct Entry: Decodable { let index: Int; let label: String; let probability: Double }
        let expected = try JSONDecoder().decode([String: [Entry]].self, from: data)
        #expect(expected.count == 4)

        let server = try ServerProcess()
        defer { server.destroy() }
        let up = try StratusBinary.run(["up", "-f", "examples/stack.yml", "--filter", "classify", "--gateway", server.url], in: DemoAssets.root,
                                       environment: ["OPENFAAS_URL": "", "STRATUS_URL": "", "STRATUS_HOME": server.dataDirectory.path])
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        for (photo, top5) in expected.sorted(by: { $0.key < $1.key }) {
            let answer = try post(server, try self.photo("\(photo).jpg"), accept: "application/json", query: "?top=5")
            #expect(answer.status == 200, "\(photo): \(answer.body)")
            let got = try JSONDecoder().decode([Entry].self, from: Data(answer.body.utf8))
            #expect(got.map(\.index) == top5.map(\.index), "\(photo): demo \(got.map(\.label)) vs reference \(top5.map(\.label))")
            for (mine, theirs) in zip(got, top5) {
                #expect(abs(mine.probability - theirs.probability) * 100 <= 2, "\(photo) \(mine.label): \(mine.probability) vs \(theirs.probability)")
            }
        }
    }

    @Test func classifiesTheSeedsCatAndBadInputGets400() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let up = try StratusBinary.run(["up", "-f", "examples/stack.yml", "--gateway", server.url], in: DemoAssets.root,
                                       environment: ["OPENFAAS_URL": "", "STRATUS_URL": "", "STRATUS_HOME": server.dataDirectory.path])
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        #expect(up.stdout.contains("Uploaded model efficientnet"))
        for name in ["hello", "pycon"] {
            let answer = try StratusBinary.run(["invoke", name, "--gateway", server.url], stdin: "Hi")
            #expect(answer.stdout.trimmingCharacters(in: .newlines) == "Hello! You said: Hi", "\(name): \(answer.stderr)")
        }

        let cat = try post(server, try photo("cat.json"))
        #expect(cat.status == 200, "\(cat.body)")
        let top = cat.body.split(separator: "\n").first.map(String.init) ?? ""
        #expect(["tabby, tabby cat:", "tiger cat:", "Egyptian cat:"].contains { top.hasPrefix($0) }, "\(cat.body)")
        #expect(cat.body.split(separator: "\n").count == 3)

        // JSON as other encoders write it: more fields, spaces, "\/" escapes; raw image bytes work too.
        let escaped = try photo("cat.jpg").base64EncodedString().replacingOccurrences(of: "/", with: #"\/"#)
        let spaced = try post(server, Data("{\"isBase64Encoded\": true,\n  \"body\" : \"\(escaped)\"}".utf8))
        #expect(spaced.body.split(separator: "\n").first == cat.body.split(separator: "\n").first, "\(spaced)")
        let raw = try post(server, try photo("cat.jpg"))
        #expect(raw.body == cat.body)

        // The same module behind Tencent SCF's API-gateway event: the seed's {"body": …} contract is one setting.
        let model = try #require(up.stdout.split(separator: "\n").first { $0.hasPrefix("Uploaded model efficientnet") }?
            .split(separator: " ").last.map(String.init))
        let scf = try StratusBinary.run(["deploy", "--name", "classify-scf", "--image", "classify:latest", "--gateway", server.url,
                                         "--annotation", "com.stratus.model.efficientnet=\(model)",
                                         "--annotation", "com.stratus.event-format=apigateway-scf"],
                                        environment: ["STRATUS_HOME": server.dataDirectory.path])
        #expect(scf.status == 0, "\(scf.stderr)")
        let viaEvent = try post(server, try photo("cat.jpg"), function: "classify-scf")
        #expect(viaEvent.body == cat.body, "\(viaEvent)")

        let coffee = try post(server, try photo("coffee.jpg"), accept: "application/json")
        #expect(coffee.status == 200)
        #expect(coffee.body.hasPrefix(#"[{"label": "espresso""#), "\(coffee.body)")

        // Bad input: each a 400 with the reason, and the server keeps serving.
        let noBody = try post(server, Data(#"{"image": "x"}"#.utf8))
        #expect(noBody.status == 400 && noBody.body.contains("no \"body\" field"), "\(noBody)")
        let badBase64 = try post(server, Data(#"{"body": "!!!not base64"}"#.utf8))
        #expect(badBase64.status == 400 && badBase64.body.contains("not valid base64"), "\(badBase64)")
        let notImage = try post(server, Data("just some text".utf8))
        #expect(notImage.status == 400 && notImage.body.contains("not a JPEG or PNG"), "\(notImage)")
        let jpeg = try photo("cat.jpg")
        let truncated = try post(server, jpeg.prefix(jpeg.count / 3))
        #expect(truncated.status == 400, "a truncated JPEG: \(truncated)")
        let huge = try post(server, Self.claimingSize(jpeg, width: 8000, height: 6500))
        #expect(huge.status == 400 && huge.body.contains("too large"), "a 52-megapixel header: \(huge)")
        #expect(try post(server, try photo("cat.json")).status == 200)
        #expect(server.isRunning)
    }

    /// Runs Tests/Browser/classify_page.py (headless Chromium over the DevTools protocol) on `photo`;
    /// returns the page's state as it printed it.
    func classifyInBrowser(_ server: ServerProcess, photo: URL, screenshots: URL) throws -> [String: Any] {
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        script.arguments = [DemoAssets.root.appendingPathComponent("Tests/Browser/classify_page.py").path,
                            "--url", "\(server.url)/sites/classify/", "--photo", photo.path, "--screenshots", screenshots.path, "--timeout", "90"]
        let output = Pipe(), errors = Pipe()
        script.standardOutput = output
        script.standardError = errors
        try script.run()
        let errorReader = Thread { _ = errors.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let text = output.fileHandleForReading.readDataToEndOfFile()
        script.waitUntilExit()
        let state = try JSONSerialization.jsonObject(with: text.isEmpty ? Data("{}".utf8) : text) as? [String: Any] ?? [:]
        #expect(script.terminationStatus == 0, "browser driver exited \(script.terminationStatus): \(state)")
        return state
    }

    /// The seed's front-end: `stratus demo deploy` publishes the page with classify, and a real
    /// browser picks a photo and sees the top 3; a file that is not an image shows the reason.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/lib/chromium/chromium")
                   || FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs Debian's chromium"))
    func demoDeployAndThePageInABrowser() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Run from elsewhere: the demo is found next to the binary (the source tree).
        let deploy = try StratusBinary.run(["demo", "deploy", "--gateway", server.url], in: scratch,
                                           environment: ["OPENFAAS_URL": "", "STRATUS_URL": "", "STRATUS_HOME": server.dataDirectory.path])
        #expect(deploy.status == 0, "\(deploy.stdout)\n\(deploy.stderr)")
        #expect(deploy.stdout.contains("Deployed site classify (3 files): \(server.url)/sites/classify/"), "\(deploy.stdout)")
        for name in ["hello", "pycon", "classify"] { #expect(deploy.stdout.contains("Deployed \(name) (created)")) }

        let screenshots = DemoAssets.root.appendingPathComponent(".build/test-artifacts/classify-page")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
        let cat = try classifyInBrowser(server, photo: DemoAssets.photos.appendingPathComponent("cat.jpg"), screenshots: screenshots)
        #expect(cat["status"] as? String == "Done", "\(cat)")
        let labels = (cat["labels"] as? [[String: String]]) ?? []
        #expect(labels.count == 3, "\(cat)")
        #expect(["tabby, tabby cat", "tiger cat", "Egyptian cat"].contains(labels.first?["label"] ?? ""), "\(cat)")
        #expect(labels.first?["percent"]?.hasSuffix("%") == true)
        #expect((cat["time"] as? String)?.hasSuffix(" ms") == true, "\(cat)")
        for shot in ["classify-empty.png", "classify-result.png"] {
            let png = FileManager.default.contents(atPath: screenshots.appendingPathComponent(shot).path) ?? Data()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(shot) is a PNG")
        }

        let text = scratch.appendingPathComponent("notes.txt")
        try Data("not a photo".utf8).write(to: text)
        let rejected = try classifyInBrowser(server, photo: text, screenshots: scratch)
        #expect(rejected["status"] as? String == "Error", "\(rejected)")
        #expect((rejected["error"] as? String)?.contains("not a JPEG or PNG") == true, "\(rejected)")
        #expect(server.isRunning)
    }

    /// `jpeg` with its frame header (SOF0/SOF2) rewritten to claim `width` x `height`.
    static func claimingSize(_ jpeg: Data, width: UInt16, height: UInt16) -> Data {
        var bytes = [UInt8](jpeg)
        var index = 2
        while index + 9 < bytes.count {
            guard bytes[index] == 0xFF else { break }
            let marker = bytes[index + 1]
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            if marker == 0xC0 || marker == 0xC2 {
                bytes[index + 5] = UInt8(height >> 8)
                bytes[index + 6] = UInt8(height & 0xFF)
                bytes[index + 7] = UInt8(width >> 8)
                bytes[index + 8] = UInt8(width & 0xFF)
                break
            }
            index += 2 + length
        }
        return Data(bytes)
    }
}
