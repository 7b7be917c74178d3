import Foundation
public import Hummingbird
import HTTPTypes

/// The gateway's request context: Hummingbird's core and the id of the call a request makes
/// (`X-Call-Id` as the caller sent it, else a new one), set by `CallIDMiddleware`.
public struct StratusRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The call's id: it names the call in the function's log, the server log, the answer's
    /// `X-Call-Id` and the async queue.
    public var callID = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// Gives each function call its id: the caller's `X-Call-Id`, else a fresh UUID.
struct CallIDMiddleware: RouterMiddleware {
    typealias Context = StratusRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.callID = request.headers[.callID] ?? UUID().uuidString
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    /// `X-Call-Id`: a call's id, sent by the caller or given by the gateway.
    static let callID = HTTPField.Name("X-Call-Id")!
}
