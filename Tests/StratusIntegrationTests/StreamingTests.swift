import Foundation
import StratusTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bodies of classic functions stream: the request goes to the process's stdin as it arrives and a
/// large answer comes back while the process writes it, so a big body never sits whole in the
/// server; the size limits hold while streaming, and a failure after the answer started cuts it
/// off with the reason in the function's log.
@Suite(.serialized) struct StreamingTests {
    func cli(_ server: ServerProcess, _ arguments: [String]) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    /// Runs curl with `arguments`; its exit status and what it printed.
    func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "120"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// A file of `count` random bytes (so a lost or reordered chunk shows).
    func bodyFile(_ count: Int) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-body-\(UUID().uuidString)")
        var generator = SystemRandomNumberGenerator()
        var data = Data(capacity: count)
        while data.count < count {
            var word = generator.next()
            data.append(Data(bytes: &word, count: min(8, count - data.count)))
        }
        try data.write(to: url)
        return url
    }

    /// The server's peak resident memory so far (`VmHWM`), in KiB.
    static func peakKiB(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func aLargeBodyThroughCatStreamsBothWaysWithoutPilingUp() throws {
        let server = try ServerProcess(arguments: ["--max-body-size", "512Mi", "--max-response-size", "512Mi", "--log-level", "warning"])
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "cat", "--fprocess", "cat"]).status == 0)
        #expect(try Curl.request("\(server.url)/function/cat", body: "warm").body == "warm")
        let size = 48 << 20
        let input = try bodyFile(size)
        let output = input.appendingPathExtension("out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        let before = Self.peakKiB(server.processIdentifier)
        for chunked in [false, true] {
            let sent = try curl(["-o", output.path, "-w", "%{http_code}", "--data-binary", "@\(input.path)", "\(server.url)/function/cat"]
                + (chunked ? ["-H", "Transfer-Encoding: chunked"] : []))
            #expect(sent.status == 0 && sent.output == "200", "\(sent)")
            let echoed = try Data(contentsOf: output)
            #expect(echoed.count == size)
            #expect(echoed == (try Data(contentsOf: input)), "the body came back changed")
        }
        let rise = (Self.peakKiB(server.processIdentifier) - before) / 1024
        print("peak RSS rose by \(rise) MiB for a \(size >> 20) MiB body through cat (twice)")
        // Held whole, the body would raise the peak by several times its size.
        #expect(rise <= 32, "peak RSS rose by \(rise) MiB for a \(size >> 20) MiB body")
    }

    @Test func theLimitsHoldWhileStreaming() throws {
        let server = try ServerProcess(arguments: ["--max-body-size", "4Mi", "--max-response-size", "3Mi"])
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "count", "--fprocess", "wc -c"]).status == 0)
        #expect(try cli(server, ["deploy", "--name", "zeros", "--fprocess", "head -c 5000000 /dev/zero"]).status == 0)
        let input = try bodyFile(5 << 20)
        defer { try? FileManager.default.removeItem(at: input) }
        // Declared too large: refused before the function runs; sent chunked: refused as it passes the limit.
        for headers in [[String](), ["-H", "Transfer-Encoding: chunked"]] {
            let sent = try curl(["-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@\(input.path)", "\(server.url)/function/count"] + headers)
            #expect(sent.output == "413", "\(headers): \(sent)")
        }
        // Under the limit, chunked: the whole body reaches the process.
        let small = try curl(["--data-binary", "0123456789", "-H", "Transfer-Encoding: chunked", "\(server.url)/function/count"])
        #expect(small.output.trimmingCharacters(in: .whitespacesAndNewlines) == "10")
        // An answer past the response limit is cut off (it had started streaming), and the log says why.
        let cut = try curl(["-o", "/dev/null", "-w", "%{size_download}", "-X", "POST", "\(server.url)/function/zeros"])
        #expect(cut.status != 0, "a cut answer must not look complete: \(cut)")
        #expect((Int(cut.output) ?? .max) <= 3 << 20 + 65536)
        try expectLog(server, "zeros", contains: "the response is over the limit of \(3 << 20) bytes")
        #expect(try Curl.status(["-X", "POST", "--data-binary", "x", "\(server.url)/function/count"]) == 200, "the server keeps serving")
    }

    @Test func anExitAfterTheAnswerStartedCutsItAndSmallAnswersKeepTheirStatus() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        #expect(try cli(server, ["deploy", "--name", "late", "--fprocess", "sh -c \"head -c 3000000 /dev/zero; exit 3\""]).status == 0)
        #expect(try cli(server, ["deploy", "--name", "early", "--fprocess", "sh -c \"echo partial; exit 3\""]).status == 0)
        #expect(try cli(server, ["deploy", "--name", "deaf", "--fprocess", "echo hi"]).status == 0)
        let late = try curl(["-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-X", "POST", "\(server.url)/function/late"])
        #expect(late.status != 0, "curl must see the answer cut off: \(late)")
        #expect(late.output.hasPrefix("200 "), "\(late)")
        try expectLog(server, "late", contains: "exited with code 3")
        // An answer that fits the stream threshold is held until the process ends: its exit code still picks the status.
        let early = try Curl.request("\(server.url)/function/early", body: "x")
        #expect(early.status == 500 && early.body.contains("function exited with code 3"), "\(early)")
        // A process that never reads its stdin answers; the body it left unread is dropped.
        let input = try bodyFile(8 << 20)
        defer { try? FileManager.default.removeItem(at: input) }
        let deaf = try curl(["-w", " %{http_code}", "--data-binary", "@\(input.path)", "\(server.url)/function/deaf"])
        #expect(deaf.output == "hi\n 200", "\(deaf)")
        #expect(try Curl.request("\(server.url)/function/deaf", body: "again").body == "hi\n", "the connection and server are fine after it")
    }

    func expectLog(_ server: ServerProcess, _ name: String, contains text: String) throws {
        var logs = ""
        for _ in 0..<50 {
            logs = try cli(server, ["logs", name]).stdout
            if logs.contains(text) { break }
            usleep(100_000)
        }
        #expect(logs.contains(text), "the log of \(name) does not say '\(text)':\n\(logs)")
    }
}
