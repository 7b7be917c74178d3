import ArgumentParser
import Foundation
import StratusModel

/// `stratus queue list|retry|cancel`: async calls waiting, running, and failed for good.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show and manage async calls (POST /async-function/NAME).",
        discussion: """
            Async calls are stored before the gateway answers 202, run by workers, retried with \
            backoff on 408/429/500/502/503/504 and timeouts (com.openfaas.retry.attempts, .codes, \
            .min_wait, .max_wait), and their result is POSTed to X-Callback-Url when given. A call that \
            fails for good stays in the dead-letter list (state failed) until retried or cancelled.
            """,
        subcommands: [QueueList.self, QueueRetry.self, QueueCancel.self],
        defaultSubcommand: QueueList.self)
}

struct QueueList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List queued calls.", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions
    @Option(name: .long, help: "Only calls in this state: pending, running, delivering or failed.") var state: String?
    @Option(name: .long, help: "At most this many calls, oldest first.") var limit = 100

    func run() async throws {
        if let state, AsyncCallState(rawValue: state) == nil {
            throw ValidationError("--state must be pending, running, delivering or failed")
        }
        let client = options.client()
        let query = "?limit=\(limit)" + (state.map { "&state=\($0)" } ?? "")
        let summary = try client.decode(QueueSummary.self, try await client.expectSuccess(.GET, "/system/queue\(query)"))
        if options.json { return try printJSON(summary) }
        print("pending \(summary.pending)   running \(summary.running)   delivering \(summary.delivering)   failed \(summary.failed)")
        guard !summary.calls.isEmpty else { return }
        var rows = [["Call", "Function", "State", "Attempts", "Status", "Reason"]]
        for call in summary.calls {
            rows.append([call.id, call.function, call.state.rawValue, String(call.attempts), call.lastStatus.map(String.init) ?? "-",
                         String((call.lastError ?? "-").prefix(80))])
        }
        printTable(rows)
    }
}

struct QueueRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry", abstract: "Run failed calls again, from their first attempt.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Call ids (X-Call-Id).") var ids: [String]

    func run() async throws {
        try await eachCall(ids, options) { client, id in
            _ = try await client.expectSuccess(.POST, "/system/queue/\(id)/retry")
            return "Queued again"
        }
    }
}

struct QueueCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Remove calls that are waiting or failed.", aliases: ["rm"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Call ids (X-Call-Id).") var ids: [String]

    func run() async throws {
        try await eachCall(ids, options) { client, id in
            _ = try await client.expectSuccess(.DELETE, "/system/queue/\(id)")
            return "Cancelled"
        }
    }
}

/// Runs `action` for each call id (percent-encoded for the path) and prints what it did.
private func eachCall(_ ids: [String], _ options: GatewayOptions, _ action: (GatewayClient, String) async throws -> String) async throws {
    guard !ids.isEmpty else { throw ValidationError("name at least one call id") }
    let client = options.client()
    for id in ids {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? id
        print("\(try await action(client, escaped)): \(id)")
    }
}
