import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The queue API's and the new annotations' bad input: each a clear 4xx, nothing stored.
@Suite struct QueueAPITests {
    @Test func badQueueRequestsGetClearErrors() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "echo", as: "echo")
            #expect(try await client.execute(uri: "/async-function/unknown", method: .post).status == .notFound)
            for query in ["state=bogus", "limit=0", "limit=abc", "limit=20000"] {
                let response = try await client.execute(uri: "/system/queue?\(query)", method: .get, headers: harness.auth)
                #expect(response.status == .badRequest, "\(query)")
            }
            #expect(try await client.execute(uri: "/system/queue", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/system/queue/nope", method: .get, headers: harness.auth).status == .notFound)
            #expect(try await client.execute(uri: "/system/queue/nope/retry", method: .post, headers: harness.auth).status == .notFound)
            #expect(try await client.execute(uri: "/async-function/nope", method: .delete).status == .notFound)

            // One call at a time for "nap": the first runs, the second waits and can be cancelled.
            let nap = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"""
                {"service": "nap", "image": "i", "envProcess": "sh -c 'sleep 8; echo rested'", "annotations": {"com.stratus.async.concurrency": "1"}}
                """#))
            #expect(nap.status == .accepted)
            for id in ["c-1", "c-2"] {
                let accepted = try await client.execute(uri: "/async-function/nap", method: .post, headers: [.init("X-Call-Id")!: id],
                                                        body: ByteBuffer(string: "hi"))
                #expect(accepted.status == .accepted && accepted.headers[.init("X-Call-Id")!] == id)
            }
            let duplicate = try await client.execute(uri: "/async-function/nap", method: .post, headers: [.init("X-Call-Id")!: "c-2"])
            #expect(duplicate.status == .conflict)
            var listed = ""
            for _ in 0..<400 {
                listed = String(buffer: try await client.execute(uri: "/system/queue", method: .get, headers: harness.auth).body)
                if listed.contains(#""running":1"#) { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(listed.contains(#""running":1"#) && listed.contains(#""pending":1"#) && listed.contains(#""bodySize":2"#), "\(listed)")
            #expect(try await client.execute(uri: "/system/queue/c-2/retry", method: .post, headers: harness.auth).status == .notFound,
                    "only failed calls can be retried")
            #expect(try await client.execute(uri: "/async-function/c-1", method: .delete).status == .conflict, "it is running")
            #expect(try await client.execute(uri: "/async-function/c-2", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/system/queue/c-2", method: .get, headers: harness.auth).status == .notFound)
        }
    }

    @Test func badRetryScalingAndLimitAnnotationsAreRefusedAtDeploy() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            let bad = [
                "com.openfaas.retry.attempts": "0", "com.openfaas.retry.codes": "5xx", "com.openfaas.retry.min_wait": "soon",
                "com.openfaas.scale.target": "0", "com.openfaas.scale.zero": "maybe", "com.openfaas.scale.zero-duration": "-1s",
                "com.stratus.scale.down-delay": "later", "com.stratus.async.concurrency": "-1", "com.stratus.queue-wait": "fast",
            ]
            for (key, value) in bad {
                let response = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"""
                    {"service": "f", "image": "i", "envProcess": "cat", "annotations": {"\#(key)": "\#(value)"}}
                    """#))
                #expect(response.status == .badRequest, "\(key)=\(value): \(response.status)")
                #expect(String(buffer: response.body).contains(value) || String(buffer: response.body).contains(key), "\(String(buffer: response.body))")
            }
            let inverted = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"""
                {"service": "f", "image": "i", "envProcess": "cat", "annotations": {"com.openfaas.retry.min_wait": "10s", "com.openfaas.retry.max_wait": "1s"}}
                """#))
            #expect(inverted.status == .badRequest)
            #expect(try await client.execute(uri: "/system/function/f", method: .get, headers: harness.auth).status == .notFound)
        }
    }
}
