import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `/system/secrets`: OpenFaaS semantics, names only in lists, encryption at rest, bad names.
@Suite struct SecretTests {
    func send(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ method: HTTPRequest.Method, _ json: String) async throws -> TestResponse {
        try await client.execute(uri: "/system/secrets", method: method, headers: harness.jsonAuth(), body: ByteBuffer(string: json))
    }

    @Test func createListUpdateDelete() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            #expect(try await send(client, harness, .post, #"{"name": "api-key", "value": "s3cr3t-value"}"#).status == .created)
            #expect(try await send(client, harness, .post, #"{"name": "api-key", "value": "other"}"#).status == .conflict)
            let raw = Data("binary\u{0}bytes".utf8).base64EncodedString()
            #expect(try await send(client, harness, .post, #"{"name": "blob", "rawValue": "\#(raw)"}"#).status == .created)
            let list = try await client.execute(uri: "/system/secrets", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body) == #"[{"name":"api-key","namespace":"openfaas-fn"},{"name":"blob","namespace":"openfaas-fn"}]"#)
            #expect(!String(buffer: list.body).contains("s3cr3t"))

            #expect(try await send(client, harness, .put, #"{"name": "api-key", "value": "new"}"#).status == .ok)
            #expect(try await send(client, harness, .put, #"{"name": "missing", "value": "x"}"#).status == .notFound)
            #expect(try await send(client, harness, .delete, #"{"name": "blob"}"#).status == .ok)
            #expect(try await send(client, harness, .delete, #"{"name": "blob"}"#).status == .notFound)
        }
        // Encrypted at rest: the value is nowhere in the database files; the key file is private.
        var stored = Data()
        for file in ["stratus.db", "stratus.db-wal"] {
            stored.append(FileManager.default.contents(atPath: harness.directory.appendingPathComponent(file).path) ?? Data())
        }
        #expect(stored.range(of: Data("s3cr3t-value".utf8)) == nil)
        let key = try FileManager.default.attributesOfItem(atPath: harness.directory.appendingPathComponent("secret.key").path)
        #expect((key[.posixPermissions] as? Int) == 0o600)
    }

    @Test func refusesBadNamesAndBodies() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            for name in ["../etc", "a/b", "..", "UPPER", "", "-x"] {
                let response = try await send(client, harness, .post, #"{"name": "\#(name)", "value": "v"}"#)
                #expect(response.status == .badRequest, "\(name)")
            }
            #expect(try await send(client, harness, .post, #"{"name": "ok"}"#).status == .badRequest)
            #expect(try await send(client, harness, .post, #"{"name": "ok", "value": "a", "rawValue": "YQ=="}"#).status == .badRequest)
            #expect(try await send(client, harness, .post, #"{"name": "ok", "rawValue": "%%%"}"#).status == .badRequest)
            let anonymous = try await client.execute(uri: "/system/secrets", method: .get)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func wasmFunctionsReadTheirSecrets() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            #expect(try await send(client, harness, .post, #"{"name": "token", "value": "t0ken"}"#).status == .created)
            try await client.deploy(harness, fixture: "readfile", as: "reader", extra: #", "secrets": ["token"]"#)
            let answer = try await client.call("reader", "/var/openfaas/secrets/token")
            #expect(String(buffer: answer.body) == "t0ken")
        }
    }

    @Test func deploymentsMustNameExistingSecrets() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let refused = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                   body: ByteBuffer(string: #"{"service": "f", "image": "i", "envProcess": "cat", "secrets": ["nope"]}"#))
            #expect(refused.status == .badRequest)
            #expect(String(buffer: refused.body).contains("secret 'nope' does not exist"))
            #expect(try await send(client, harness, .post, #"{"name": "nope", "value": "v"}"#).status == .created)
            let accepted = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(),
                                                    body: ByteBuffer(string: #"{"service": "f", "image": "i", "envProcess": "cat", "secrets": ["nope"]}"#))
            #expect(accepted.status == .accepted)
        }
    }
}
