import Foundation
import Hummingbird
import HummingbirdTesting
import StratusInference
import Testing

/// Whether ONNX Runtime's library is here (`make setup-models` puts it in .cache/).
let onnxRuntimeAvailable = ONNXRuntimeBackend.findLibrary().map { FileManager.default.fileExists(atPath: $0) } ?? false

/// y = x * 2 + 1 over float32 [1, 4] (the same tiny model as StratusInferenceTests' `affine`).
let affineModel = [UInt8](Data(base64Encoded:
    "CAcSADp0ChAKAXgKA3R3bxIBdCIDTXVsChAKAXQKA29uZRIBeSIDQWRkEgZhZmZpbmUqDRABQgN0d29KBAAAAEAqDRABQgNvbmVKBAAAgD9a"
    + "EwoBeBIOCgwIARIICgIIAQoCCARiEwoBeRIOCgwIARIICgIIAQoCCARCBAoAEA0=")!)

/// WASI-NN through the gateway: a C guest (Tests/Fixtures/wasm/nn.c) written against the
/// wasi_ephemeral_nn ABI runs a declared model on ONNX Runtime, and every misuse gets an errno.
@Suite(.enabled(if: onnxRuntimeAvailable, "needs ONNX Runtime's library: make setup-models"))
struct InferenceTests {
    func deployNN(_ client: some TestClientProtocol, _ harness: GatewayHarness) async throws {
        let upload = try await client.execute(uri: "/system/artifacts?name=affine:1&kind=model", method: .post, headers: harness.auth,
                                              body: ByteBuffer(bytes: affineModel))
        #expect(upload.status == .created, "\(String(buffer: upload.body))")
        try await client.deploy(harness, fixture: "nn", as: "nn", extra: #", "annotations": {"com.stratus.model.affine": "affine:1"}"#)
    }

    func ask(_ client: some TestClientProtocol, _ command: String) async throws -> String {
        let response = try await client.call("nn", command)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return String(buffer: response.body)
    }

    @Test func aGuestRunsADeclaredModel() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployNN(client, harness)
            #expect(try await ask(client, "run affine 1 2 3 -4") == "3 5 7 -7 (16 bytes)\n")
            // Warm instances forget their handles between calls; the model stays loaded.
            #expect(try await ask(client, "run affine 0 0.5 10 100") == "1 2 21 201 (16 bytes)\n")
            let info = try await ask(client, "info affine")
            #expect(info.contains(#""inputs":[{"name":"x","shape":[1,4],"type":"float32"}]"#), "\(info)")
        }
    }

    @Test func misuseGetsErrnosAndTheServerKeepsServing() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await deployNN(client, harness)
            #expect(try await ask(client, "missing") == "load_by_name errno 8\n", "an undeclared model is not_found")
            #expect(try await ask(client, "badptr affine") == "set_input errno 1\n", "a tensor record outside memory is invalid_argument")
            #expect(try await ask(client, "shape affine") == "set_input errno 1\n")
            #expect(try await ask(client, "type affine") == "set_input errno 1\n")
            #expect(try await ask(client, "small affine") == "get_output errno 7\n", "a buffer too small is too_large")
            #expect(try await ask(client, "garbage") == "load errno 2\nload-tflite errno 2\n", "not a model / not ONNX is invalid_encoding")
            #expect(try await ask(client, "handle") == "init errno 1\ncompute errno 1\n")
            let logs = try await client.execute(uri: "/system/logs?name=nn&tail=-1", method: .get, headers: harness.auth)
            #expect(String(buffer: logs.body).contains("model 'nope' is not declared by this function (declared: affine)"))
            #expect(try await ask(client, "run affine 1 1 1 1") == "3 3 3 3 (16 bytes)\n")
        }
    }

    @Test func modelsAreCheckedWhenUploadedAndDeployed() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let junk = try await client.execute(uri: "/system/artifacts?name=junk:1&kind=model", method: .post, headers: harness.auth,
                                                body: ByteBuffer(string: "not an onnx model"))
            #expect(junk.status == .badRequest)
            #expect(String(buffer: junk.body).contains("invalid model"), "\(String(buffer: junk.body))")
            _ = try await client.upload(harness, fixture: "nn", name: "nn:latest")
            let missing = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string:
                #"{"service": "nn", "image": "nn:latest", "annotations": {"com.stratus.model.affine": "nothere:1"}}"#))
            #expect(missing.status == .badRequest)
            #expect(String(buffer: missing.body).contains("model 'affine' refers to 'nothere:1', which is not uploaded"))
        }
    }
}
