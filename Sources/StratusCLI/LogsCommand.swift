import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import StratusModel

/// `stratus logs NAME`: a function's log, optionally followed live.
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a function's log (stderr and per-call lines); --follow streams new lines.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn).") var name: String
    @Flag(name: .long, help: "Keep streaming new lines until interrupted.") var follow = false
    @Option(name: .long, help: "Only lines newer than this: a duration (10s, 5m, 1h) or an RFC 3339 time.") var since: String?
    @Option(name: .long, help: "Only the last N stored lines.") var tail: Int?

    func run() async throws {
        var query = ["name=\(name)", "follow=\(follow)"]
        if let tail {
            guard tail >= 0 else { throw ValidationError("--tail must be 0 or more") }
            query.append("tail=\(tail)")
        }
        if let since {
            let date: Date
            if let seconds = try? Quantities.duration(since) {
                date = Date().addingTimeInterval(-seconds)
            } else if let parsed = ISO8601DateFormatter().date(from: since) {
                date = parsed
            } else {
                throw ValidationError("--since takes a duration like 5m or a time like 2026-01-02T15:04:05Z")
            }
            query.append("since=\(ISO8601DateFormatter().string(from: date))")
        }
        let client = options.client()
        var request = HTTPClientRequest(url: client.baseURL + "/system/logs?" + query.joined(separator: "&"))
        if let credentials = client.credentials {
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(credentials.user):\(credentials.password)".utf8).base64EncodedString())
        }
        let response = try await client.execute(request, timeout: .hours(24 * 365))
        guard response.status.code == 200 else {
            let body = try await response.body.collect(upTo: 1024 * 1024)
            throw CLIError("logs failed with \(response.status.code): \(String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending += chunk.readableBytesView
            while let newline = pending.firstIndex(of: 0x0a) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                // Written straight to the descriptor: with --follow each line must show at once.
                if options.json {
                    say(String(decoding: line, as: UTF8.self))
                } else if let entry = try? decoder.decode(LogLine.self, from: Data(line)) {
                    say("\(ISO8601DateFormatter().string(from: entry.timestamp)) \(entry.name) (\(entry.instance)) \(entry.text)")
                }
            }
        }
    }
}
