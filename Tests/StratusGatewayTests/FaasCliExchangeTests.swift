import Foundation
import Hummingbird
import HummingbirdTesting
import StratusModel
import Testing

/// The HTTP exchanges faas-cli 0.16 makes, replayed as it sends them (paths, query strings, bodies
/// with its empty fields, auth header), for the commands Stratus supports today.
@Suite struct FaasCliExchangeTests {
    let userAgent: HTTPFields = [.userAgent: "faas-cli/0.16.0"]

    func headers(_ harness: GatewayHarness, json: Bool = false) -> HTTPFields {
        var fields = harness.auth
        fields.append(contentsOf: userAgent)
        if json { fields[.contentType] = "application/json" }
        return fields
    }

    @Test func loginDeployListDescribeInvokeLogsRemove() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            // faas-cli login: validates the credentials with GET /system/functions.
            let login = try await client.execute(uri: "/system/functions", method: .get, headers: headers(harness))
            #expect(login.status == .ok)

            // faas-cli deploy --image ghcr.io/openfaas/alpine:latest --name cat --fprocess "cat":
            // PUT first; on 404, POST the same body.
            let body = #"""
                {"service":"cat","image":"ghcr.io/openfaas/alpine:latest","namespace":"openfaas-fn","envProcess":"cat",
                 "envVars":{},"constraints":[],"secrets":[],"labels":{},"annotations":{},"limits":null,"requests":null,
                 "readOnlyRootFilesystem":false}
                """#
            let put = try await client.execute(uri: "/system/functions", method: .put, headers: headers(harness, json: true), body: ByteBuffer(string: body))
            #expect(put.status == .notFound)
            let post = try await client.execute(uri: "/system/functions", method: .post, headers: headers(harness, json: true), body: ByteBuffer(string: body))
            #expect(post.status == .accepted)
            let again = try await client.execute(uri: "/system/functions", method: .put, headers: headers(harness, json: true), body: ByteBuffer(string: body))
            #expect(again.status == .accepted, "a second deploy updates")

            // faas-cli invoke cat -H X-Trace=1 --query lang=en: POST /function/NAME.NAMESPACE?query
            let invoke = try await client.execute(uri: "/function/cat.openfaas-fn?lang=en", method: .post,
                                                  headers: [.init("X-Trace")!: "1", .contentType: "text/plain"], body: ByteBuffer(string: "Hi"))
            #expect(invoke.status == .ok)
            #expect(String(buffer: invoke.body) == "Hi")

            // faas-cli list -v and describe: namespace in the query string.
            let list = try await client.execute(uri: "/system/functions?namespace=openfaas-fn", method: .get, headers: headers(harness))
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let functions = try decoder.decode([FunctionStatus].self, from: Data(buffer: list.body))
            #expect(functions.first?.name == "cat")
            #expect(functions.first?.invocationCount == 1)
            #expect(functions.first?.envProcess == "cat")
            let describe = try await client.execute(uri: "/system/function/cat?namespace=openfaas-fn", method: .get, headers: headers(harness))
            #expect(describe.status == .ok)
            // Every function carries faas_function: NAME among its labels, as OpenFaaS providers add it.
            let described = try decoder.decode(FunctionStatus.self, from: Data(buffer: describe.body))
            #expect(described.labels?["faas_function"] == "cat")

            // faas-cli logs cat --tail=-1 (its default) with follow=false.
            let logs = try await client.execute(uri: "/system/logs?name=cat&namespace=openfaas-fn&follow=false&tail=-1", method: .get, headers: headers(harness))
            #expect(logs.status == .ok)
            #expect(String(buffer: logs.body).contains("Forking fprocess"))

            // faas-cli namespace list, version, ready.
            let namespaces = try await client.execute(uri: "/system/namespaces", method: .get, headers: headers(harness))
            #expect(String(buffer: namespaces.body) == #"["openfaas-fn"]"#)
            // faas-cli namespace get openfaas-fn (and an unknown one).
            let namespace = try await client.execute(uri: "/system/namespace/openfaas-fn", method: .get, headers: headers(harness))
            #expect(namespace.status == .ok)
            #expect(try JSONDecoder().decode(FunctionNamespace.self, from: Data(buffer: namespace.body))
                == FunctionNamespace(name: "openfaas-fn", labels: ["openfaas": "1"], annotations: ["openfaas": "1"]))
            let unknown = try await client.execute(uri: "/system/namespace/staging", method: .get, headers: headers(harness))
            #expect(unknown.status == .notFound)
            let info = try await client.execute(uri: "/system/info", method: .get, headers: headers(harness))
            #expect(try JSONDecoder().decode(GatewayInfo.self, from: Data(buffer: info.body)).version.release.isEmpty == false)
            let ready = try await client.execute(uri: "/healthz", method: .get, headers: userAgent)
            #expect(ready.status == .ok)

            // faas-cli remove cat: DELETE with functionName and namespace.
            let remove = try await client.execute(uri: "/system/functions", method: .delete, headers: headers(harness, json: true),
                                                  body: ByteBuffer(string: #"{"functionName":"cat","namespace":"openfaas-fn"}"#))
            #expect(remove.status == .ok)
            let gone = try await client.execute(uri: "/function/cat.openfaas-fn", method: .post, body: ByteBuffer(string: "x"))
            #expect(gone.status == .notFound)
        }
    }
}
