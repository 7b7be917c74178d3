import ArgumentParser
import Foundation
import StratusModel

/// `stratus publish NAME`: freezes the function as deployed now as its next version.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a function's current deployment as a new, immutable version.",
        discussion: """
            The version keeps the artifact digest (or image digest), settings, environment and the names of \
            the secrets as they are now, and runs beside the function with its own instances, replicas and \
            stats. /function/NAME keeps serving the latest deployment; /function/NAME:N calls version N, and \
            /function/NAME:ALIAS an alias (see `stratus alias`). Numbers start at 1 and are never reused.
            """)
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn).") var name: String
    @Option(name: [.short, .long], help: "A note kept with the version.") var description: String?

    func run() async throws {
        let client = options.client()
        let reply = try await client.sendJSON(.POST, "/system/function/\(name)/versions", PublishRequest(description: description))
        let version = try client.decode(VersionStatus.self, reply)
        if options.json { return try printJSON(version) }
        print("Published \(name) version \(version.version) (\(version.digest.map { String($0.prefix(19)) } ?? version.image))")
        print("URL: \(client.baseURL)/function/\(name):\(version.version)")
    }
}

/// `stratus versions NAME`.
struct Versions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a function's published versions, or remove one.",
        discussion: "A version an alias routes to cannot be removed (409): point the alias elsewhere first.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn).") var name: String
    @Option(name: .long, help: "Remove this version instead of listing.") var remove: Int?

    func run() async throws {
        let client = options.client()
        if let remove {
            try await client.expectSuccess(.DELETE, "/system/function/\(name)/versions/\(remove)")
            print("Removed: \(name) version \(remove)")
            return
        }
        let versions = try client.decode([VersionStatus].self, try await client.expectSuccess(.GET, "/system/function/\(name)/versions"))
        if options.json { return try printJSON(versions) }
        printTable(VersionRows.header + versions.map(VersionRows.row))
    }
}

enum VersionRows {
    static let header = [["VERSION", "DIGEST", "ALIASES", "INVOCATIONS", "REPLICAS", "PUBLISHED", "DESCRIPTION"]]

    static func row(_ version: VersionStatus) -> [String] {
        let aliases = version.aliases.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)%" }.joined(separator: ",")
        return [String(version.version), String((version.digest ?? version.image).prefix(19)), aliases.isEmpty ? "-" : aliases,
                String(Int(version.invocationCount)), "\(version.availableReplicas)/\(version.replicas)",
                ISO8601DateFormatter().string(from: version.createdAt), version.description.isEmpty ? "-" : version.description]
    }
}

/// `stratus alias set|remove|list`.
struct Alias: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Point named aliases at versions, with weights for gradual rollouts.",
        discussion: """
            stratus alias set fn prod 3            all calls to /function/fn:prod go to version 3
            stratus alias set fn prod 3=90,4=10    90% to version 3, 10% to version 4 (weights add up to 100)

            A call's version is picked from its X-Call-Id, so a retry with the same id reaches the same version. \
            Async calls (/async-function/fn:prod) and timer triggers (com.stratus.schedule.target) can name an alias too.
            """,
        subcommands: [AliasSet.self, AliasRemove.self, AliasList.self], defaultSubcommand: AliasList.self)
}

struct AliasSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Create or change an alias.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn).") var name: String
    @Argument(help: "Alias name (lowercase letters, digits and '-', starting with a letter).") var alias: String
    @Argument(help: "VERSION, or VERSION=WEIGHT,… adding up to 100.") var routes: String

    func run() async throws {
        let parsed: [AliasRoute]
        do { parsed = try FunctionAlias.routes(parsing: routes) } catch { throw ValidationError("\(error)") }
        let client = options.client()
        let reply = try await client.sendJSON(.PUT, "/system/function/\(name)/aliases/\(alias)", AliasStatus(name: nil, routes: parsed, updatedAt: nil))
        let saved = try client.decode(AliasStatus.self, reply)
        if options.json { return try printJSON(saved) }
        print("\(reply.status == 201 ? "Created" : "Updated") alias \(name):\(alias) → \(AliasRows.routes(saved.routes))")
    }
}

struct AliasRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an alias.", aliases: ["rm"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name.") var name: String
    @Argument(help: "Alias name.") var alias: String

    func run() async throws {
        try await options.client().expectSuccess(.DELETE, "/system/function/\(name)/aliases/\(alias)")
        print("Removed alias \(name):\(alias)")
    }
}

struct AliasList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a function's aliases.", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name.") var name: String

    func run() async throws {
        let client = options.client()
        let aliases = try client.decode([AliasStatus].self, try await client.expectSuccess(.GET, "/system/function/\(name)/aliases"))
        if options.json { return try printJSON(aliases) }
        printTable([["ALIAS", "ROUTES"]] + aliases.map { [$0.name ?? "-", AliasRows.routes($0.routes)] })
    }
}

enum AliasRows {
    static func routes(_ routes: [AliasRoute]) -> String {
        routes.map { "version \($0.version) \($0.weight)%" }.joined(separator: ", ")
    }
}

/// `stratus triggers`.
struct Triggers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List timer triggers with their next and last run.",
        discussion: """
            A function with the annotations `topic: cron-function` and `schedule: "*/5 * * * *"` (OpenFaaS's \
            cron-connector convention; also @every 30s, @hourly, @daily…) is called on schedule through the async \
            queue (retries and dead letters as for any async call), with headers X-Connector: cron-connector and \
            X-Scheduled-Time. Optional annotations: com.stratus.schedule.timezone (IANA, default UTC), \
            com.stratus.schedule.catch-up (replay up to N ticks missed while no server ran; default 0), \
            com.stratus.schedule.target (a version or alias to call). In a cluster one node fires each tick.
            """)
    @OptionGroup var options: GatewayOptions
    @Option(name: [.short, .long], help: "Only this namespace's functions.") var namespace: String?

    func run() async throws {
        let client = options.client()
        let triggers = try client.decode([TriggerStatus].self,
                                         try await client.expectSuccess(.GET, "/system/triggers" + GatewayClient.namespaceQuery(namespace)))
        if options.json { return try printJSON(triggers) }
        let format = ISO8601DateFormatter()
        let rows = triggers.map { t -> [String] in
            let name = t.namespace == FunctionName.defaultNamespace ? t.function : "\(t.function).\(t.namespace)"
            let last = t.lastRun.map { run in
                format.string(from: run.tick) + " " + (run.status.map { "→ \($0)" } ?? "→ failed") + (run.error.map { " (\($0.prefix(60)))" } ?? "")
            } ?? "-"
            return [name + (t.target.map { ":" + $0 } ?? ""), t.schedule, t.timezone, t.nextRun.map(format.string) ?? "-", last]
        }
        printTable([["FUNCTION", "SCHEDULE", "TIMEZONE", "NEXT RUN", "LAST RUN"]] + rows)
    }
}
