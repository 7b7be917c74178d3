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
        context.callID = request.headers[.callID] ?? Self.freshID()
        return try await next(request, context)
    }

    /// A random (version 4) UUID from the system generator (`getrandom`: no file opened per call).
    static func freshID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        let uuid = withUnsafeMutableBytes(of: &bytes) { raw -> uuid_t in
            raw[6] = raw[6] & 0x0f | 0x40
            raw[8] = raw[8] & 0x3f | 0x80
            return raw.load(as: uuid_t.self)
        }
        return UUID(uuid: uuid).uuidString
    }
}

extension HTTPField.Name {
    /// `X-Call-Id`: a call's id, sent by the caller or given by the gateway.
    static let callID = HTTPField.Name("X-Call-Id")!
}
