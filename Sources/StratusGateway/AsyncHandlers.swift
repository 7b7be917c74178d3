import Foundation
import Hummingbird
import StratusModel
import StratusQueue
import StratusStore

/// `POST /async-function/{name}[/path]` (202 once the call is stored), `DELETE /async-function/{call-id}`
/// (cancel), and `/system/queue` (pending, running, delivering and failed calls; retry; cancel).
struct AsyncHandlers {
    let dependencies: Dependencies
    let queue: AsyncQueue
    let store: any QueueStore

    func register(on router: Router<StratusRequestContext>) {
        for method in [HTTPRequest.Method.post, .put, .patch] {
            router.on("async-function/{name}", method: method) { request, context in
                try await enqueue(request, name: context.parameters.get("name") ?? "", path: "/", callID: context.callID)
            }
            router.on("async-function/{name}/**", method: method) { request, context in
                let rest = context.parameters.getCatchAll().joined(separator: "/")
                return try await enqueue(request, name: context.parameters.get("name") ?? "", path: "/" + rest, callID: context.callID)
            }
        }
        // The call id is the capability: whoever enqueued the call (and got its id) may cancel it.
        router.delete("async-function/{name}") { _, context in try await cancel(context.parameters.get("name") ?? "") }
    }

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.get("queue") { request, _ in
            let stateText = request.uri.queryParameters.get("state")
            var states: [AsyncCallState] = []
            if let stateText {
                for part in stateText.split(separator: ",") {
                    guard let state = AsyncCallState(rawValue: String(part)) else {
                        throw GatewayError.badRequest("unknown state '\(part)': use pending, running, delivering or failed")
                    }
                    states.append(state)
                }
            }
            let limitText = request.uri.queryParameters.get("limit") ?? "100"
            guard let limit = Int(limitText), (1...10_000).contains(limit) else { throw GatewayError.badRequest("limit must be 1...10000") }
            let calls: [AsyncCall], counts: [AsyncCallState: Int]
            do throws(StoreError) {
                calls = try await store.queuedCalls(states: states, limit: limit)
                counts = try await store.queueCounts()
            } catch {
                throw GatewayError.from(error)
            }
            return try JSON.response(QueueSummary(counts: counts, calls: calls.map(QueueEntry.init)))
        }
        group.get("queue/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let call = try await lookup(id) else { throw GatewayError.notFound("no queued call with id '\(id)'") }
            return try JSON.response(QueueEntry(call))
        }
        group.post("queue/{id}/retry") { _, context in
            let id = context.parameters.get("id") ?? ""
            let retried: Bool
            do throws(StoreError) { retried = try await store.retry(id, now: Date()) } catch { throw GatewayError.from(error) }
            guard retried else {
                throw GatewayError.notFound("no failed call with id '\(id)' (only calls in the dead-letter list can be retried)")
            }
            queue.wake()
            return Response(status: .accepted, headers: [.callID: id])
        }
        group.delete("queue/{id}") { _, context in try await cancel(context.parameters.get("id") ?? "") }
    }

    private func lookup(_ id: String) async throws -> AsyncCall? {
        do { return try await store.queuedCall(id) } catch { throw GatewayError.from(error) }
    }

    private func cancel(_ id: String) async throws -> Response {
        let outcome: CancelOutcome
        do { outcome = try await store.cancel(id) } catch { throw GatewayError.from(error) }
        switch outcome {
        case .cancelled: return Response(status: .noContent)
        case .running: throw GatewayError(.conflict, "call '\(id)' is running now and cannot be stopped half-way")
        case .notFound: throw GatewayError.notFound("no queued call with id '\(id)' (it may have finished)")
        }
    }

    /// Characters allowed in a caller's own `X-Call-Id`.
    static func validCallID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 95 || byte == 46
        }
    }

    func enqueue(_ request: Request, name rawName: String, path: String, callID: String) async throws -> Response {
        let name: FunctionName
        do { name = try FunctionName(address: rawName) } catch {
            throw GatewayError.notFound("error finding function \(rawName): \(error)")
        }
        // An alias is stored as it is, and resolved when the call runs (by its call id, the same version).
        guard dependencies.invoker.route(name, callID: callID) != nil else {
            throw GatewayError.notFound("error finding function \(rawName): not deployed")
        }
        var callbackURL: String?
        if let callback = request.headers[.init("X-Callback-Url")!], !callback.isEmpty {
            guard let url = URL(string: callback), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
                throw GatewayError.badRequest("X-Callback-Url must be an http:// or https:// URL, not '\(callback)'")
            }
            callbackURL = callback
        }
        guard Self.validCallID(callID) else {
            throw GatewayError.badRequest("X-Call-Id must be 1-128 letters, digits, '-', '_' or '.'")
        }
        let body = try await request.collectBody(limit: dependencies.configuration.maxRequestBytes)
        let headers = request.headers.filter { field in
            let lower = field.name.canonicalName.lowercased()
            return lower != "x-callback-url" && lower != "authorization"
        }.map { [$0.name.canonicalName, $0.value] }
        let call = AsyncCall(id: callID, function: name, method: request.method.rawValue, path: path, query: request.uri.query ?? "",
                             headers: headers, body: Array(body.readableBytesView), callbackURL: callbackURL)
        do throws(StoreError) {
            try await queue.enqueue(call)
        } catch .duplicate {
            throw GatewayError(.conflict, "a call with X-Call-Id '\(callID)' is already queued")
        } catch {
            throw GatewayError.from(error)
        }
        var fields: HTTPFields = [:]
        fields[.callID] = callID
        return Response(status: .accepted, headers: fields)
    }
}
