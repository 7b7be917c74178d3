import Foundation
import Hummingbird

/// Requires HTTP basic auth with the gateway's credentials (OpenFaaS protects `/system/*` this way).
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let credentials: Credentials

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":"),
            credentials.matches(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        else {
            var error = GatewayError(.unauthorized, "invalid credentials: log in with `stratus login` (or faas-cli login)")
            error.headers[.wwwAuthenticate] = "Basic realm=\"stratus\""
            throw error
        }
        return try await next(request, context)
    }
}
