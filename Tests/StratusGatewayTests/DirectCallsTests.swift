import HTTPTypes
@testable import StratusGateway
import Testing

/// Which requests the event-loop path may take (the rest go to the router), and the duration header.
struct DirectCallsTests {
    func request(_ path: String, _ fields: HTTPFields = [.contentLength: "10"], method: HTTPRequest.Method = .post) -> HTTPRequest {
        HTTPRequest(method: method, scheme: nil, authority: "x", path: path, headerFields: fields)
    }

    func target(_ request: HTTPRequest) -> String? {
        DirectCalls.target(of: request, bodyLimit: 64 * 1024).map { "\($0.name) \($0.path) \($0.query)" }
    }

    @Test func callsWithASmallBodyOfKnownLengthGoDirect() {
        #expect(target(request("/function/echo")) == "echo / ")
        #expect(target(request("/function/echo/items/7?x=1&y")) == "echo /items/7 x=1&y")
        #expect(target(request("/function/echo.openfaas-fn/a")) == "echo /a ")
        #expect(target(request("/function/echo", [:], method: .get)) == "echo / ")
        #expect(target(request("/function/echo", [.contentLength: "65536"])) == "echo / ")
    }

    @Test func everythingElseGoesToTheRouter() {
        #expect(target(request("/function/echo", [.contentLength: "65537"])) == nil, "a body past the limit streams")
        #expect(target(request("/function/echo", [.transferEncoding: "chunked"])) == nil, "a body of unknown length streams")
        #expect(target(request("/function/echo", [.contentLength: "1", .expect: "100-continue"])) == nil)
        #expect(target(request("/function/echo", [.contentLength: "1", .connection: "close"])) == nil)
        #expect(target(request("/function/echo", [:], method: .head)) == nil)
        #expect(target(request("/function/ech%6F")) == nil, "escapes are the router's to decode")
        #expect(target(request("/function/echo//x")) == nil)
        #expect(target(request("/function/echo/../x")) == nil)
        #expect(target(request("/function/")) == nil)
        #expect(target(request("/function/BAD_NAME")) == nil)
        #expect(target(request("/system/functions")) == nil)
        #expect(target(request("/async-function/echo")) == nil)
    }

}
