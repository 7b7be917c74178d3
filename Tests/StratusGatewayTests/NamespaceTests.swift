import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import Testing

/// Namespaces as OpenFaaS has them: managed through faas-cli 0.16's routes, functions and secrets
/// scoped to their namespace, the same name in two namespaces two functions, `name.namespace` everywhere.
struct NamespaceTests {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    func json(_ client: some TestClientProtocol, _ harness: GatewayHarness, _ uri: String, _ method: HTTPRequest.Method, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: harness.jsonAuth(), body: ByteBuffer(string: body))
    }

    /// The exchanges faas-cli 0.16's `namespace create/get/update/list/delete` make (the go-sdk's bodies).
    @Test func faasCliManagesNamespaces() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let sdkBody = #"{"name":"staging","labels":{"openfaas":"1","team":"a"},"annotations":{"openfaas":"1"}}"#
            #expect(try await json(client, harness, "/system/namespace/", .post, sdkBody).status == .created)
            let again = try await json(client, harness, "/system/namespace/", .post, sdkBody)
            #expect(again.status == .conflict)
            #expect(String(buffer: again.body).contains("already exists"))
            // A plain client that leaves OpenFaaS's marks out gets them anyway.
            #expect(try await json(client, harness, "/system/namespace", .post, #"{"name":"prod"}"#).status == .created)
            let list = try await client.execute(uri: "/system/namespaces", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body) == #"["openfaas-fn","prod","staging"]"#)
            let prod = try await client.execute(uri: "/system/namespace/prod", method: .get, headers: harness.auth)
            #expect(try JSONDecoder().decode(FunctionNamespace.self, from: Data(buffer: prod.body))
                == FunctionNamespace(name: "prod", labels: ["openfaas": "1"], annotations: ["openfaas": "1"]))

            let update = #"{"name":"staging","labels":{"openfaas":"1","team":"b"},"annotations":{"openfaas":"1","owner":"ops"}}"#
            #expect(try await json(client, harness, "/system/namespace/staging", .put, update).status == .accepted)
            let staging = try await client.execute(uri: "/system/namespace/staging", method: .get, headers: harness.auth)
            let described = try JSONDecoder().decode(FunctionNamespace.self, from: Data(buffer: staging.body))
            #expect(described.labels?["team"] == "b" && described.annotations?["owner"] == "ops")
            #expect(try await json(client, harness, "/system/namespace/nope", .put, #"{"name":"nope"}"#).status == .notFound)
            #expect(try await json(client, harness, "/system/namespace/staging", .put, #"{"name":"prod"}"#).status == .badRequest)

            for bad in [#"{"name":"Bad_Name"}"#, #"{"name":""}"#, "{nope"] {
                #expect(try await json(client, harness, "/system/namespace/", .post, bad).status == .badRequest, "\(bad)")
            }
            let deleteBody = #"{"name":"prod","labels":{"openfaas":"1"}}"#
            #expect(try await json(client, harness, "/system/namespace/prod", .delete, deleteBody).status == .accepted)
            #expect(try await json(client, harness, "/system/namespace/prod", .delete, deleteBody).status == .notFound)
            let keepDefault = try await json(client, harness, "/system/namespace/openfaas-fn", .delete, "")
            #expect(keepDefault.status == .badRequest)
            #expect(String(buffer: keepDefault.body).contains("default namespace"))
            let anonymous = try await client.execute(uri: "/system/namespace/", method: .post, body: ByteBuffer(string: #"{"name":"x"}"#))
            #expect(anonymous.status == .unauthorized)
        }
        // Kept across a restart.
        try await harness.run { client in
            let list = try await client.execute(uri: "/system/namespaces", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body) == #"["openfaas-fn","staging"]"#)
        }
    }

    @Test func theSameNameInTwoNamespacesIsTwoFunctions() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let refused = try await json(client, harness, "/system/functions", .post, #"{"service":"hello","image":"x:1","envProcess":"cat","namespace":"staging"}"#)
            #expect(refused.status == .badRequest)
            #expect(String(buffer: refused.body).contains("namespace 'staging' does not exist"))
            #expect(try await json(client, harness, "/system/namespace/", .post, #"{"name":"staging"}"#).status == .created)

            try await client.deploy(harness, fixture: "echo", as: "hello")
            #expect(try await client.upload(harness, fixture: "env", name: "env:latest").status == .created)
            // faas-cli's form (the namespace beside the name) and the address form.
            let staged = try await json(client, harness, "/system/functions", .post,
                                        #"{"service":"hello","image":"env:latest","namespace":"staging","envVars":{"MY_VAR":"from-staging"}}"#)
            #expect(staged.status == .accepted, "\(String(buffer: staged.body))")
            #expect(try await json(client, harness, "/system/functions", .post, #"{"service":"other.staging","image":"env:latest"}"#).status == .accepted)
            let clash = try await json(client, harness, "/system/functions", .post, #"{"service":"x.staging","image":"env:latest","namespace":"prod"}"#)
            #expect(clash.status == .badRequest)

            #expect(String(buffer: try await client.call("hello", "plain").body) == "plain")
            #expect(String(buffer: try await client.call("hello.openfaas-fn", "plain").body) == "plain")
            #expect(String(buffer: try await client.call("hello.staging").body).contains("MY_VAR=from-staging"))
            #expect(try await client.call("hello.prod").status == .notFound)

            let plainList = try await client.execute(uri: "/system/functions", method: .get, headers: harness.auth)
            let plain = try Self.decoder.decode([FunctionStatus].self, from: Data(buffer: plainList.body))
            #expect(plain.map(\.name) == ["hello"] && plain.map(\.namespace) == ["openfaas-fn"])
            let stagingList = try await client.execute(uri: "/system/functions?namespace=staging", method: .get, headers: harness.auth)
            let staging = try Self.decoder.decode([FunctionStatus].self, from: Data(buffer: stagingList.body))
            #expect(staging.map(\.name) == ["hello", "other"] && Set(staging.map(\.namespace)) == ["staging"])
            #expect(staging.first?.labels?["faas_function"] == "hello")
            #expect(try await client.execute(uri: "/system/functions?namespace=nope", method: .get, headers: harness.auth).status == .notFound)

            let described = try await client.execute(uri: "/system/function/hello?namespace=staging", method: .get, headers: harness.auth)
            #expect(try Self.decoder.decode(FunctionStatus.self, from: Data(buffer: described.body)).envVars?["MY_VAR"] == "from-staging")
            #expect(try await client.execute(uri: "/system/function/hello.staging", method: .get, headers: harness.auth).status == .ok)
            // The UI's overview lists both, the staging one by its address (its page then uses that address).
            let stats = String(buffer: try await client.execute(uri: "/system/stats", method: .get, headers: harness.auth).body)
            #expect(stats.contains(#""name":"hello.staging""#) && stats.contains(#""name":"hello""#))

            // Logs per namespace: each function's own lines.
            let logs = try await client.execute(uri: "/system/logs?name=hello&namespace=staging&tail=-1", method: .get, headers: harness.auth)
            let lines = String(buffer: logs.body).split(separator: "\n")
            #expect(!lines.isEmpty && lines.allSatisfy { $0.contains(#""namespace":"staging""#) })

            // Async calls name the function as `name.namespace` and run the right one.
            let queued = try await client.execute(uri: "/async-function/hello.staging", method: .post, headers: [.init("X-Call-Id")!: "ns-call-1"])
            #expect(queued.status == .accepted)
            // Counted (metrics name it `name.namespace` too) as the staging function's second call.
            try await client.waitUntilStarted("hello.staging", count: 2)

            // A namespace with functions in it stays; removing one function leaves the other namespace's alone.
            let busy = try await json(client, harness, "/system/namespace/staging", .delete, "")
            #expect(busy.status == .conflict)
            #expect(String(buffer: busy.body).contains("hello.staging"))
            #expect(try await json(client, harness, "/system/functions", .delete, #"{"functionName":"hello","namespace":"staging"}"#).status == .ok)
            #expect(try await client.call("hello.staging").status == .notFound)
            #expect(String(buffer: try await client.call("hello", "still").body) == "still")
            let scaled = try await json(client, harness, "/system/scale-function/other", .post, #"{"serviceName":"other","namespace":"staging","replicas":0}"#)
            #expect(scaled.status == .accepted)
        }
        // After a restart each function is back in its namespace.
        try await harness.run { client async throws in
            #expect(String(buffer: try await client.call("other.staging").body).contains("MY_VAR="))
            #expect(try await client.call("hello.staging").status == .notFound)
            #expect(String(buffer: try await client.call("hello", "back").body) == "back")
        }
    }

    @Test func secretsBelongToTheirNamespace() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            #expect(try await json(client, harness, "/system/namespace/", .post, #"{"name":"staging"}"#).status == .created)
            let nowhere = try await json(client, harness, "/system/secrets", .post, #"{"name":"token","namespace":"nope","value":"x"}"#)
            #expect(nowhere.status == .badRequest)
            #expect(try await json(client, harness, "/system/secrets", .post, #"{"name":"token","namespace":"staging","value":"staging-token"}"#).status == .created)
            let list = try await client.execute(uri: "/system/secrets?namespace=staging", method: .get, headers: harness.auth)
            #expect(String(buffer: list.body) == #"[{"name":"token","namespace":"staging"}]"#)
            #expect(String(buffer: try await client.execute(uri: "/system/secrets", method: .get, headers: harness.auth).body) == "[]")

            // A function in the default namespace cannot use another namespace's secret.
            #expect(try await client.upload(harness, fixture: "readfile", name: "reader:latest").status == .created)
            let refused = try await json(client, harness, "/system/functions", .post, #"{"service":"reader","image":"reader:latest","secrets":["token"]}"#)
            #expect(refused.status == .badRequest)
            #expect(String(buffer: refused.body).contains("does not exist in namespace 'openfaas-fn'"))
            #expect(try await json(client, harness, "/system/secrets", .post, #"{"name":"token","value":"default-token"}"#).status == .created)
            for namespace in ["openfaas-fn", "staging"] {
                let body = #"{"service":"reader","image":"reader:latest","namespace":"\#(namespace)","secrets":["token"]}"#
                #expect(try await json(client, harness, "/system/functions", .post, body).status == .accepted)
            }
            #expect(String(buffer: try await client.call("reader", "/var/openfaas/secrets/token").body) == "default-token")
            #expect(String(buffer: try await client.call("reader.staging", "/var/openfaas/secrets/token").body) == "staging-token")

            #expect(try await json(client, harness, "/system/functions", .delete, #"{"functionName":"reader","namespace":"staging"}"#).status == .ok)
            let busy = try await json(client, harness, "/system/namespace/staging", .delete, "")
            #expect(busy.status == .conflict)
            #expect(String(buffer: busy.body).contains("secret token"))
            #expect(try await json(client, harness, "/system/secrets", .delete, #"{"name":"token","namespace":"staging"}"#).status == .ok)
            #expect(try await json(client, harness, "/system/namespace/staging", .delete, "").status == .accepted)
            // The default namespace's secret of the same name is untouched.
            #expect(String(buffer: try await client.call("reader", "/var/openfaas/secrets/token").body) == "default-token")
        }
    }
}
