import Foundation
import Hummingbird
import ServiceLifecycle
import StratusModel
import StratusStore

/// `GET /system/logs?name=&namespace=&tail=&since=&follow=`: a function's log as NDJSON, optionally followed live
/// (for `--log-follow-timeout`, or until the function is removed).
struct LogHandler {
    let dependencies: Dependencies
    let logs: LogService
    let store: any LogStore

    func register(on group: RouterGroup<StratusRequestContext>) {
        group.get("logs") { request, _ in try await stream(request) }
    }

    func stream(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        guard let rawName = query.get("name"), !rawName.isEmpty else { throw GatewayError.badRequest("missing query parameter 'name'") }
        let name: FunctionName
        do { name = try FunctionName(parsing: rawName, namespace: query.get("namespace")) } catch { throw GatewayError.from(error) }
        let exists: Bool
        do { exists = try await dependencies.registry.function(named: name) != nil } catch { throw GatewayError.from(error) }
        guard exists else { throw GatewayError.notFound("function '\(rawName)' not found") }
        // faas-cli sends tail=-1 for "everything"; any negative value means that.
        let tail = try query.get("tail").flatMap { (text: String) throws -> Int? in
            guard let value = Int(text) else { throw GatewayError.badRequest("tail must be a whole number, got '\(text)'") }
            return value < 0 ? nil : value
        }
        let since = try query.get("since").map { (text: String) throws -> Date in
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw GatewayError.badRequest("since must be an RFC 3339 time like 2026-01-02T15:04:05Z, got '\(text)'")
            }
            return date
        }
        let follow = ["1", "true", "yes"].contains(query.get("follow")?.lowercased() ?? "")
        // Subscribe before reading the stored lines so nothing written in between is missed.
        let live = follow ? logs.follow(name, for: dependencies.configuration.logFollowSeconds) : nil
        await logs.flush()
        let stored: [LogLine]
        do { stored = try await store.logs(function: name, since: since, tail: tail) } catch { throw GatewayError.from(error) }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        let body = ResponseBody { writer in
            for line in stored { try await writer.write(ByteBuffer(bytes: try encoder.encode(line) + [0x0a])) }
            if let live {
                // A followed stream ends after the follow time or when the function is removed; and when
                // the server starts shutting down, or the server would wait for it.
                await withGracefulShutdownHandler {
                    for await line in live {
                        guard let data = try? encoder.encode(line),
                            (try? await writer.write(ByteBuffer(bytes: data + [0x0a]))) != nil
                        else { break }
                    }
                } onGracefulShutdown: {
                    logs.endFollowers()
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }
}
