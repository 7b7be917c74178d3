import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import Testing

/// The OpenFaaS management API: auth, deploy, list, describe, update, delete, errors.
@Suite struct GatewayAPITests {
    @Test func healthzNeedsNoCredentials() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
        }
    }

    @Test func systemRoutesRequireCredentials() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let none = try await client.execute(uri: "/system/functions", method: .get)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.contains("Basic") == true)
            let wrong = Data("admin:wrong".utf8).base64EncodedString()
            let bad = try await client.execute(uri: "/system/info", method: .get, headers: [.authorization: "Basic \(wrong)"])
            #expect(bad.status == .unauthorized)
            let garbage = try await client.execute(uri: "/system/info", method: .get, headers: [.authorization: "Basic !!!"])
            #expect(garbage.status == .unauthorized)
            let good = try await client.execute(uri: "/system/functions", method: .get, headers: harness.auth)
            #expect(good.status == .ok)
            #expect(String(buffer: good.body) == "[]")
        }
    }

    @Test func infoAndNamespaces() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let info = try await client.execute(uri: "/system/info", method: .get, headers: harness.auth)
            let decoded = try JSONDecoder().decode(GatewayInfo.self, from: Data(buffer: info.body))
            #expect(decoded.provider.provider == "stratus")
            let namespaces = try await client.execute(uri: "/system/namespaces", method: .get, headers: harness.auth)
            #expect(String(buffer: namespaces.body) == #"["openfaas-fn"]"#)
        }
    }

    @Test func deployListDescribeAndDelete() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo", extra: #", "labels": {"team": "a", "faas_function": "other"}, "envVars": {"MY_VAR": "1"}"#)
            let list = try await client.execute(uri: "/system/functions", method: .get, headers: harness.auth)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let functions = try decoder.decode([FunctionStatus].self, from: Data(buffer: list.body))
            #expect(functions.map(\.name) == ["echo"])
            // faas_function is the provider's: the function's own name, whatever a deploy sent.
            #expect(functions.first?.labels == ["team": "a", "faas_function": "echo"])
            #expect(functions.first?.replicas == 1)
            #expect(functions.first?.namespace == "openfaas-fn")

            _ = try await client.call("echo", "x")
            let one = try await client.execute(uri: "/system/function/echo", method: .get, headers: harness.auth)
            let status = try decoder.decode(FunctionStatus.self, from: Data(buffer: one.body))
            #expect(status.invocationCount == 1)
            #expect(status.digest?.hasPrefix("sha256:") == true)

            let missing = try await client.execute(uri: "/system/function/nope", method: .get, headers: harness.auth)
            #expect(missing.status == .notFound)

            let delete = try await client.execute(uri: "/system/functions", method: .delete, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"functionName": "echo"}"#))
            #expect(delete.status == .ok)
            #expect(try await client.call("echo", "x").status == .notFound)
            let again = try await client.execute(uri: "/system/functions", method: .delete, headers: harness.jsonAuth(), body: ByteBuffer(string: #"{"functionName": "echo"}"#))
            #expect(again.status == .notFound)

            // Removing frees the name: the same name deploys again from scratch.
            let redeploy = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                    body: ByteBuffer(string: #"{"service": "echo", "image": "echo:latest"}"#))
            #expect(redeploy.status == .accepted)
            #expect(String(buffer: try await client.call("echo", "back").body) == "back")
        }
    }

    @Test func deployingTheSameNameTwiceUpdatesIt() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "fn")
            #expect(String(buffer: try await client.call("fn", "ping").body) == "ping")
            try await client.upload(harness, fixture: "stderr", name: "other:v2")
            let update = try await client.execute(uri: "/system/functions", method: .put, headers: harness.jsonAuth(),
                                                  body: ByteBuffer(string: #"{"service": "fn", "image": "other:v2"}"#))
            #expect(update.status == .accepted)
            #expect(String(buffer: try await client.call("fn", "ping").body) == "ok")
            let list = try await client.execute(uri: "/system/functions", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body).components(separatedBy: "\"name\":\"fn\"").count == 2, "one entry, not two")
        }
    }

    @Test func racingDeploysLeaveTheStoreAndTheRuntimeAgreeing() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.upload(harness, fixture: "echo", name: "a:1")
            try await client.upload(harness, fixture: "stderr", name: "b:1")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    let image = index % 2 == 0 ? "a:1" : "b:1"
                    group.addTask {
                        _ = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                     body: ByteBuffer(string: #"{"service": "race", "image": "\#(image)"}"#))
                    }
                }
                try await group.waitForAll()
            }
            let status = try await client.execute(uri: "/system/function/race", method: .get, headers: harness.auth)
            let stored = try JSONDecoder().decode([String: AnyDecodable].self, from: Data(buffer: status.body))["image"]?.text
            let answer = String(buffer: try await client.call("race", "ping").body)
            #expect(stored == (answer == "ping" ? "a:1" : "b:1"), "stored \(stored ?? "-") but the runtime answered \(answer)")
        }
    }

    @Test func updateOfUnknownFunctionIs404SoFaasCliFallsBackToPost() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.upload(harness, fixture: "echo", name: "echo:latest")
            let put = try await client.execute(uri: "/system/functions", method: .put, headers: harness.jsonAuth(),
                                               body: ByteBuffer(string: #"{"service": "newfn", "image": "echo:latest"}"#))
            #expect(put.status == .notFound)
        }
    }

    @Test func deployByDigest() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let upload = try await client.upload(harness, fixture: "echo", name: "echo:1")
            let digest = try JSONDecoder().decode(ArtifactUpload.self, from: Data(buffer: upload.body)).digest
            let deploy = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                  body: ByteBuffer(string: #"{"service": "bydigest", "image": "\#(digest)"}"#))
            #expect(deploy.status == .accepted)
            #expect(String(buffer: try await client.call("bydigest", "d").body) == "d")
        }
    }

    @Test func badDeploymentsAreRefusedWithAReason() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.upload(harness, fixture: "echo", name: "echo:latest")
            let cases: [(String, String)] = [
                ("", "empty body"),
                ("{not json", "not valid JSON"),
                (#"{"image": "echo:latest"}"#, "missing field 'service'"),
                (#"{"service": "Bad_Name", "image": "echo:latest"}"#, "invalid function name"),
                (#"{"service": "ok", "image": "nothing:here"}"#, "names no uploaded artifact"),
                (#"{"service": "ok", "image": "echo:latest", "namespace": "other"}"#, "namespace 'other' does not exist"),
                (#"{"service": "ok", "image": "echo:latest", "annotations": {"com.stratus.timeout": "soon"}}"#, "invalid duration"),
                (#"{"service": "ok", "image": "echo:latest", "limits": {"memory": "lots"}}"#, "invalid memory quantity"),
            ]
            for (body, reason) in cases {
                let response = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
                #expect(String(buffer: response.body).contains(reason), "\(body) → \(String(buffer: response.body))")
            }
            let list = try await client.execute(uri: "/system/functions", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body) == "[]", "nothing half-deployed")
        }
    }
}

/// Decodes any JSON value, keeping strings.
struct AnyDecodable: Decodable {
    let text: String?
    init(from decoder: any Decoder) throws {
        text = try? decoder.singleValueContainer().decode(String.self)
    }
}
