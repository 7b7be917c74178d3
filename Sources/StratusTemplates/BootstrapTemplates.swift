import Foundation

/// The text of the custom-runtime templates: an executable `bootstrap` that asks the runtime API
/// for events and posts answers (Tencent SCF custom runtime, AWS Lambda Runtime API).
enum BootstrapTemplateSources {
    /// A bash bootstrap in the shape of Tencent SCF's custom runtime sample: report ready, then
    /// long-poll events, run the handler named by `_HANDLER` (`file.function`), post the answer.
    static let scfBootstrap = #"""
        #!/bin/bash
        # Tencent SCF custom runtime bootstrap (runs unchanged on SCF and on Stratus).
        # Initialisation: load the handler file named by _HANDLER (file.function, default index.main_handler).
        set -euo pipefail
        HANDLER="${_HANDLER:-index.main_handler}"
        source ./"$(echo "$HANDLER" | cut -d. -f1).sh"
        API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT"
        # Report that initialisation is done.
        curl -sS -X POST -d " " "$API/runtime/init/ready" > /dev/null
        # Event loop: get an event (long poll), handle it, post the result (or the error).
        while true; do
          EVENT_DATA=$(curl -sS "$API/runtime/invocation/next")
          if RESPONSE=$("$(echo "$HANDLER" | cut -d. -f2)" "$EVENT_DATA"); then
            curl -sS -X POST --data-binary "$RESPONSE" "$API/runtime/invocation/response" > /dev/null
          else
            curl -sS -X POST --data-binary "handler exited with status $?" "$API/runtime/invocation/error" > /dev/null
          fi
        done

        """#

    /// The handler the SCF bootstrap sources: `main_handler EVENT` prints the answer. With the
    /// `apigateway-scf` event format the event is the API gateway's JSON and the answer an
    /// integration response.
    static let scfHandler = #"""
        # A function for the SCF custom runtime: main_handler gets the event (JSON) as $1 and prints
        # the answer. Behind the API gateway (com.stratus.event-format: apigateway-scf) the event
        # carries the HTTP request (body, headers, httpMethod, path, queryString, isBase64Encoded);
        # an answer shaped {"statusCode", "headers", "body", "isBase64Encoded"} sets the HTTP response.
        main_handler () {
          local body
          body=$(printf '%s' "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("body") or "", end="")')
          printf '{"isBase64Encoded": false, "statusCode": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": %s}' \
            "$(printf 'Hello! You said: %s' "$body" | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read()))')"
        }

        """#

    /// A bash bootstrap speaking the AWS Lambda Runtime API (`lang: bootstrap`): replace the
    /// handling step with your own program, or the whole file with any executable.
    static let awsBootstrap = #"""
        #!/bin/bash
        # A custom runtime for the AWS Lambda Runtime API ($AWS_LAMBDA_RUNTIME_API): any executable
        # named bootstrap works the same way. Events arrive with GET .../invocation/next; post the
        # answer to .../invocation/$REQUEST_ID/response (or .../error).
        set -euo pipefail
        API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
        HEADERS=$(mktemp)
        while true; do
          EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
          REQUEST_ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')
          # The event is the request body (event format raw) or an API gateway event (apigateway-aws).
          RESPONSE="Hello! You said: $EVENT"
          curl -sS -X POST --data-binary "$RESPONSE" "$API/invocation/$REQUEST_ID/response" > /dev/null
        done

        """#

    /// A Swift Lambda function in swift-aws-lambda-runtime's 2.x style, behind a function URL
    /// (event format `apigateway-aws`).
    static let swiftLambdaHandler = #"""
        // A Swift Lambda function, written against swift-aws-lambda-runtime's API (2.x):
        // `LambdaRuntime { (event: Input, context: LambdaContext) in … }`. Input and output are
        // Codable. Behind a function URL (com.stratus.event-format: apigateway-aws) the event is
        // the API Gateway v2 payload and the answer an integration response.
        import AWSLambdaRuntime

        struct Request: Decodable {
            let rawPath: String?
            let body: String?
        }

        struct Response: Encodable {
            let statusCode: Int
            let headers: [String: String]
            let body: String
        }

        let runtime = LambdaRuntime { (event: Request, context: LambdaContext) -> Response in
            context.logger.info("request \(context.requestID) for \(event.rawPath ?? "/")")
            return Response(statusCode: 200, headers: ["Content-Type": "text/plain; charset=utf-8"],
                            body: "Hello! You said: \(event.body ?? "")")
        }

        try await runtime.run()

        """#

    /// The `AWSLambdaRuntime` module the swift-lambda template builds against: the Lambda Runtime
    /// API client with swift-aws-lambda-runtime's public API (`LambdaRuntime`, `LambdaContext`,
    /// `LambdaHandler`), on Foundation and POSIX sockets only.
    static let lambdaRuntime = #"""
        // AWSLambdaRuntime for Stratus's swift-lambda template: a Lambda Runtime API client with the
        // public API of swift-aws-lambda-runtime 2.x (LambdaRuntime, LambdaContext, LambdaHandler),
        // so handlers written for it build unchanged. Generated by Stratus; not for editing.
        import Foundation
        #if canImport(Glibc)
        import Glibc
        #endif

        public struct LambdaLogger: Sendable {
            let requestID: String
            public func info(_ message: @autoclosure () -> String) { write("INFO", message()) }
            public func debug(_ message: @autoclosure () -> String) { write("DEBUG", message()) }
            public func warning(_ message: @autoclosure () -> String) { write("WARNING", message()) }
            public func error(_ message: @autoclosure () -> String) { write("ERROR", message()) }
            func write(_ level: String, _ message: String) {
                FileHandle.standardError.write(Data("\(level) \(requestID) \(message)\n".utf8))
            }
        }

        public struct LambdaContext: Sendable {
            public let requestID: String
            public let traceID: String
            public let invokedFunctionARN: String
            /// The call's deadline.
            public let deadline: Date
            public let logger: LambdaLogger

            /// Time left before the deadline.
            public var remainingTime: TimeInterval { deadline.timeIntervalSinceNow }
        }

        public protocol LambdaHandler {
            associatedtype Event: Decodable
            associatedtype Output: Encodable
            func handle(_ event: Event, context: LambdaContext) async throws -> Output
        }

        /// A handler given as a closure (`LambdaRuntime { (event, context) in … }`).
        public struct ClosureHandler<Event: Decodable, Output: Encodable>: LambdaHandler {
            let body: (Event, LambdaContext) async throws -> Output
            public init(body: @escaping (Event, LambdaContext) async throws -> Output) { self.body = body }
            public func handle(_ event: Event, context: LambdaContext) async throws -> Output { try await body(event, context) }
        }

        public final class LambdaRuntime<Handler: LambdaHandler> {
            let handler: Handler

            public init(handler: Handler) { self.handler = handler }

            public convenience init<Event: Decodable, Output: Encodable>(body: @escaping (Event, LambdaContext) async throws -> Output)
            where Handler == ClosureHandler<Event, Output> {
                self.init(handler: ClosureHandler(body: body))
            }

            /// Fetches events from $AWS_LAMBDA_RUNTIME_API and answers them, until the process is stopped.
            public func run() async throws {
                guard let address = ProcessInfo.processInfo.environment["AWS_LAMBDA_RUNTIME_API"] else {
                    throw RuntimeClientError("AWS_LAMBDA_RUNTIME_API is not set: run this function under a Lambda runtime (or Stratus)")
                }
                let client = try RuntimeClient(address: address)
                let decoder = JSONDecoder()
                let encoder = JSONEncoder()
                while true {
                    let next = try client.request("GET", "/2018-06-01/runtime/invocation/next", body: [])
                    guard next.status == 200, let id = next.headers["lambda-runtime-aws-request-id"] else {
                        throw RuntimeClientError("next event failed with status \(next.status)")
                    }
                    let deadline = Double(next.headers["lambda-runtime-deadline-ms"] ?? "").map { Date(timeIntervalSince1970: $0 / 1000) } ?? .distantFuture
                    let context = LambdaContext(requestID: id, traceID: next.headers["lambda-runtime-trace-id"] ?? "",
                                                invokedFunctionARN: next.headers["lambda-runtime-invoked-function-arn"] ?? "",
                                                deadline: deadline, logger: LambdaLogger(requestID: id))
                    do {
                        let event = try decoder.decode(Handler.Event.self, from: Data(next.body))
                        let output = try await handler.handle(event, context: context)
                        let bytes = try encoder.encode(output)
                        _ = try client.request("POST", "/2018-06-01/runtime/invocation/\(id)/response", body: Array(bytes))
                    } catch {
                        let report = ["errorType": String(describing: type(of: error)), "errorMessage": String(describing: error)]
                        let bytes = (try? JSONSerialization.data(withJSONObject: report)) ?? Data()
                        _ = try client.request("POST", "/2018-06-01/runtime/invocation/\(id)/error", body: Array(bytes),
                                               headers: ["Lambda-Runtime-Function-Error-Type": "Unhandled"])
                    }
                }
            }
        }

        public struct RuntimeClientError: Error, CustomStringConvertible {
            public let description: String
            init(_ description: String) { self.description = description }
        }

        /// HTTP/1.1 over one keep-alive TCP connection to the runtime API.
        final class RuntimeClient {
            private let host: String
            private let port: UInt16
            private var fd: Int32 = -1

            init(address: String) throws {
                let parts = address.split(separator: ":")
                guard parts.count == 2, let port = UInt16(parts[1]) else { throw RuntimeClientError("bad AWS_LAMBDA_RUNTIME_API '\(address)'") }
                host = String(parts[0])
                self.port = port
            }

            struct Answer {
                var status: Int
                var headers: [String: String]
                var body: [UInt8]
            }

            func request(_ method: String, _ path: String, body: [UInt8], headers: [String: String] = [:]) throws -> Answer {
                if fd < 0 { try connect() }
                var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Length: \(body.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "\r\n"
                do {
                    try send(Array(head.utf8) + body)
                    return try receive()
                } catch {
                    close(fd)
                    fd = -1
                    throw error
                }
            }

            private func connect() throws {
                fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr)
                let result = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard result == 0 else { throw RuntimeClientError("cannot connect to the runtime API at \(host):\(port)") }
            }

            private func send(_ bytes: [UInt8]) throws {
                var sent = 0
                while sent < bytes.count {
                    let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                    guard n > 0 else { throw RuntimeClientError("the runtime API closed the connection") }
                    sent += n
                }
            }

            private var buffer: [UInt8] = []

            private func fill() throws {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                guard n > 0 else { throw RuntimeClientError("the runtime API closed the connection") }
                buffer += chunk[0..<n]
            }

            private func receive() throws -> Answer {
                let separator: [UInt8] = [13, 10, 13, 10]
                var end: Int?
                while end == nil {
                    if buffer.count >= 4 {
                        for index in 0...(buffer.count - 4) where Array(buffer[index..<index + 4]) == separator { end = index; break }
                    }
                    if end == nil { try fill() }
                }
                let lines = String(decoding: buffer[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
                buffer.removeFirst(end! + 4)
                let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while buffer.count < length { try fill() }
                let body = Array(buffer[0..<length])
                buffer.removeFirst(length)
                return Answer(status: status, headers: headers, body: body)
            }
        }

        """#
}
