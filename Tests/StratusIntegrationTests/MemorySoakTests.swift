import AsyncHTTPClient
import Foundation
import NIOCore
import StratusTestSupport
import Testing

/// Memory comes back: what a deploy takes is given back when its function is removed.
@Suite(.serialized) struct MemorySoakTests {
    /// 200 Wasm functions deployed, called once and removed, five times over with the same names:
    /// the server's resident memory after the last cycle is within 15 % of after the first (the
    /// first cycle warms caches and the allocator; a leak of one instance per deploy, as there was,
    /// added about 34 MiB a cycle).
    @Test func deployingCallingAndRemovingFunctionsGivesTheMemoryBack() async throws {
        let server = try ServerProcess(arguments: ["--no-auth"])
        defer { server.destroy() }
        let client = HTTPClient.shared
        func send(_ method: String, _ path: String, _ body: [UInt8], type: String = "application/json") async throws -> Int {
            var request = HTTPClientRequest(url: server.url + path)
            request.method = .init(rawValue: method)
            request.headers.add(name: "Content-Type", value: type)
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        #expect(try await send("POST", "/system/artifacts?name=soak:1", WasmFixtures.bytes("echo"), type: "application/wasm") < 300)
        var after: [Double] = []
        for _ in 0..<5 {
            for index in 0..<200 {
                let deployed = try await send("POST", "/system/functions", Array(#"{"service": "soak-\#(index)", "image": "soak:1"}"#.utf8))
                #expect(deployed == 202)
            }
            for index in 0..<200 { #expect(try await send("POST", "/function/soak-\(index)", Array("hi".utf8), type: "text/plain") == 200) }
            for index in 0..<200 {
                #expect(try await send("DELETE", "/system/functions", Array(#"{"functionName": "soak-\#(index)"}"#.utf8)) == 200)
            }
            // Removed replicas stop in the background: give them a moment.
            try await Task.sleep(for: .milliseconds(500))
            after.append(Self.residentMiB(server.processIdentifier))
        }
        #expect(after[4] <= after[0] * 1.15, "resident MiB after each cycle: \(after)")
    }

    static func residentMiB(_ pid: Int32) -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
}
