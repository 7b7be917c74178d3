import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import StratusTestSupport
import Testing

/// `POST /system/artifacts`: good modules are stored by digest, bad ones refused with the reason.
@Suite struct ArtifactUploadTests {
    func post(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ bytes: [UInt8], name: String = "x:1") async throws -> TestResponse {
        try await client.execute(uri: "/system/artifacts?name=\(name)", method: .post, headers: harness.auth, body: ByteBuffer(bytes: bytes))
    }

    @Test func storesAModuleUnderItsDigest() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let bytes = try WasmFixtures.bytes("echo")
            let response = try await post(client, harness, bytes, name: "echo:v1")
            #expect(response.status == .created)
            let upload = try JSONDecoder().decode(ArtifactUpload.self, from: Data(buffer: response.body))
            #expect(upload.size == bytes.count)
            #expect(upload.name == "echo:v1")
            #expect(upload.digest.count == 71)
            let blob = harness.directory.appendingPathComponent("artifacts/sha256/\(upload.digest.dropFirst(7))")
            #expect(FileManager.default.fileExists(atPath: blob.path))
        }
    }

    @Test func refusesGarbageTruncatedAndStartlessModules() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let echo = try WasmFixtures.bytes("echo")
            let emptyModule: [UInt8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
            let cases: [([UInt8], String)] = [
                ([], "empty body"),
                (Array("hello world".utf8), "magic number"),
                (Array(echo.prefix(echo.count / 2)), "invalid WebAssembly module"),
                (emptyModule, "_start"),
            ]
            for (bytes, reason) in cases {
                let response = try await post(client, harness, bytes)
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains(reason), "\(String(buffer: response.body))")
            }
        }
    }

    @Test func refusesBadArtifactNames() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let response = try await post(client, harness, try WasmFixtures.bytes("echo"), name: "../../etc")
            #expect(response.status == .badRequest)
            let kind = try await client.execute(uri: "/system/artifacts?name=m:1&kind=weights", method: .post, headers: harness.auth,
                                                body: ByteBuffer(string: "bytes"))
            #expect(kind.status == .badRequest)
            #expect(String(buffer: kind.body).contains("unknown artifact kind 'weights'"))
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        let harness = GatewayHarness(maxArtifactBytes: 64 * 1024)
        defer { harness.cleanUp() }
        try await harness.run { client in
            let big = [UInt8](repeating: 0, count: 200 * 1024)
            let response = try await post(client, harness, big)
            #expect(response.status == .contentTooLarge)
        }
    }
}
