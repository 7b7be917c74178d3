import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `com.stratus.event-format`: API-gateway events on stdin, integration responses back.
@Suite struct EventFormatTests {
    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    @Test func awsAndSCFEventsRoundTrip() async throws {
        let harness = GatewayHarness()
        defer { harness.cleanUp() }
        try await harness.run { client in
            try await client.deploy(harness, fixture: "event", as: "aws", extra: #", "annotations": {"com.stratus.event-format": "apigateway-aws"}"#)
            try await client.deploy(harness, fixture: "event", as: "scf", extra: #", "annotations": {"com.stratus.event-format": "apigateway-scf"}"#)
            try await client.deploy(harness, fixture: "event", as: "plain")

            let aws = try await client.execute(uri: "/function/aws/items/7?a=1&b=x%20y", method: .post,
                                               headers: [.init("X-Test")!: "yes", .contentType: "text/plain"], body: ByteBuffer(string: "hi"))
            #expect(aws.status == .created, "the integration response's statusCode")
            #expect(aws.headers[.init("X-From")!] == "event")
            let event = try json(aws.body)
            #expect(event["version"] as? String == "2.0" && event["rawPath"] as? String == "/items/7")
            #expect(event["rawQueryString"] as? String == "a=1&b=x%20y")
            #expect((event["queryStringParameters"] as? [String: String])?["b"] == "x y")
            #expect((event["headers"] as? [String: String])?["x-test"] == "yes")
            #expect(event["body"] as? String == "hi" && event["isBase64Encoded"] as? Bool == false)
            #expect(((event["requestContext"] as? [String: Any])?["http"] as? [String: Any])?["method"] as? String == "POST")

            // A body that is not UTF-8 travels base64-encoded.
            let binary = try await client.execute(uri: "/function/aws", method: .post, body: ByteBuffer(bytes: [0xFF, 0x00, 0xFE]))
            let binaryEvent = try json(binary.body)
            #expect(binaryEvent["isBase64Encoded"] as? Bool == true && binaryEvent["body"] as? String == Data([0xFF, 0x00, 0xFE]).base64EncodedString())

            let scf = try await client.execute(uri: "/function/scf/path?x=1", method: .put, body: ByteBuffer(string: "{\"k\": 1}"))
            let scfEvent = try json(scf.body)
            #expect(scfEvent["httpMethod"] as? String == "PUT" && scfEvent["path"] as? String == "/path")
            #expect((scfEvent["queryString"] as? [String: String])?["x"] == "1" && scfEvent["body"] as? String == "{\"k\": 1}")
            #expect((scfEvent["requestContext"] as? [String: Any])?["httpMethod"] as? String == "PUT")

            // isBase64Encoded answers are decoded; an answer that is not an integration response is the body.
            let decoded = try await client.execute(uri: "/function/aws", method: .post, headers: [.init("X-Mode")!: "b64"], body: ByteBuffer(string: "x"))
            #expect(decoded.status == .ok && String(buffer: decoded.body) == "hello" && decoded.headers[.contentType] == "application/octet-stream")
            let plain = try await client.execute(uri: "/function/scf", method: .post, headers: [.init("X-Mode")!: "plain"], body: ByteBuffer(string: "x"))
            #expect(plain.status == .ok && String(buffer: plain.body) == "not json")

            // raw (the default): stdin is the body, stdout the answer, untouched.
            let raw = try await client.execute(uri: "/function/plain", method: .post, body: ByteBuffer(string: "hi"))
            #expect(raw.status == .ok && String(buffer: raw.body) == #"{"statusCode": 201, "headers": {"X-From": "event"}, "body": "hi"}"#)

            let bad = try await client.execute(uri: "/system/functions", method: .post, headers: harness.jsonAuth(), body: ByteBuffer(string: #"""
                {"service": "bad", "image": "aws:latest", "annotations": {"com.stratus.event-format": "soap"}}
                """#))
            #expect(bad.status == .badRequest && String(buffer: bad.body).contains("apigateway-scf"), "\(String(buffer: bad.body))")
        }
    }
}
