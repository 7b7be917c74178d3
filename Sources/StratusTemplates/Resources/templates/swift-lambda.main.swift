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
