import Hummingbird
import StratusImages
import StratusInvoker
import StratusModel
import StratusStore

/// An error with the status code and plain-text message the caller sees (OpenFaaS answers errors as text).
struct GatewayError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func badRequest(_ message: String) -> GatewayError { GatewayError(.badRequest, message) }
    static func notFound(_ message: String) -> GatewayError { GatewayError(.notFound, message) }

    /// A container image that cannot be pulled or run: 502 when the registry is the problem, else 400.
    static func from(_ error: ImageError) -> GatewayError {
        GatewayError(error.isUpstream ? .badGateway : .badRequest, error.description)
    }

    /// The one place module errors become status codes.
    static func from(_ error: InvokerError) -> GatewayError {
        switch error {
        case .functionNotFound: GatewayError(.notFound, error.description)
        case .invalidArtifact, .invalidSettings, .invalidProcess, .invalidModel, .invalidImage: GatewayError(.badRequest, error.description)
        case .overloaded: GatewayError(.tooManyRequests, error.description)
        }
    }

    static func from(_ error: StoreError) -> GatewayError {
        switch error {
        // The cluster's database is down: the write was not made; calls to deployed functions still answer.
        case .unavailable: GatewayError(.serviceUnavailable, error.description + " (calls to deployed functions still answer; try again when the database is back)")
        default: GatewayError(.internalServerError, error.description)
        }
    }

    static func from(_ error: ModelError) -> GatewayError {
        GatewayError(.badRequest, error.description)
    }
}
