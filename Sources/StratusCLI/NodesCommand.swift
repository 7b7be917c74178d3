import ArgumentParser
import Foundation

/// `stratus nodes`: the live nodes of a cluster (one, on the embedded store).
struct Nodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the live nodes of the cluster and their load.",
        discussion: """
            Every `stratus serve` writes a heartbeat into the store every 2 s; a node silent for 10 s is not listed, \
            and its row is removed after a minute. With the embedded SQLite store there is one node: this server. \
            Any node answers for all of them (start a cluster with `stratus serve --store postgres://…` on each node).
            """)
    @OptionGroup var options: GatewayOptions

    struct Node: Codable {
        var id: String
        var address: String
        var version: String
        var startedAt: String
        var heartbeatAt: String
        var functions: Int
        var inflight: Int
    }

    func run() async throws {
        let client = options.client()
        let nodes = try client.decode([Node].self, try await client.expectSuccess(.GET, "/system/nodes"))
        if options.json { return try printJSON(nodes) }
        let parser = ISO8601DateFormatter()
        let rows = nodes.map { node -> [String] in
            let age = parser.date(from: node.heartbeatAt).map { String(format: "%.1fs ago", max(0, Date().timeIntervalSince($0))) } ?? node.heartbeatAt
            return [node.id, node.address, node.version, String(node.functions), String(node.inflight), age]
        }
        printTable([["NODE", "ADDRESS", "VERSION", "FUNCTIONS", "IN FLIGHT", "HEARTBEAT"]] + rows)
    }
}
