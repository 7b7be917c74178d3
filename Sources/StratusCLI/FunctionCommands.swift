import ArgumentParser
import Foundation
import StratusModel

/// Options every command that talks to a gateway shares.
struct GatewayOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Gateway URL (default: $OPENFAAS_URL, $STRATUS_URL, the stack file's, or http://127.0.0.1:8080).")
    var gateway: String?

    @Flag(name: .long, help: "Print JSON for scripts instead of text.")
    var json = false

    @OptionGroup var tls: TLSOptions

    func client(stackGateway: String? = nil) -> GatewayClient {
        GatewayClient(gateway: Paths.gateway(flag: gateway, stack: stackGateway), trust: tls.trust)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `stratus list`.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List deployed functions.", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions
    @Flag(name: [.short, .long], help: "Show images and digests, published versions, aliases and timer schedules too.")
    var verbose = false
    @Option(name: [.short, .long], help: "The namespace to list (default openfaas-fn).") var namespace: String?

    func run() async throws {
        let functions = try await options.client().functions(namespace: namespace)
        if options.json { return try printJSON(functions) }
        var rows = [verbose ? ["Function", "Image", "Digest", "Invocations", "Replicas"] : ["Function", "Invocations", "Replicas"]]
        for f in functions {
            let count = String(Int(f.invocationCount))
            rows.append(verbose ? [f.name, f.image, String((f.digest ?? "").prefix(19)), count, String(f.replicas)] : [f.name, count, String(f.replicas)])
            guard verbose else { continue }
            for version in f.versions ?? [] {
                rows.append(["  \(f.name):\(version.version)", version.image, String((version.digest ?? "").prefix(19)),
                             String(Int(version.invocationCount)), String(version.replicas)])
            }
            for alias in f.aliases ?? [] {
                rows.append(["  \(f.name):\(alias.name ?? "-")", "→ " + AliasRows.routes(alias.routes), "", "", ""])
            }
            if let trigger = f.trigger {
                rows.append(["  (timer)", trigger.schedule + (trigger.timezone == "UTC" ? "" : " \(trigger.timezone)"), "", "", ""])
            }
        }
        printTable(rows)
    }
}

/// `stratus describe NAME`.
struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one function's details.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn).") var name: String

    func run() async throws {
        let client = options.client()
        let status = try client.decode(FunctionStatus.self, try await client.expectSuccess(.GET, "/system/function/\(name)"))
        if options.json { return try printJSON(status) }
        var rows: [[String]] = [
            ["Name:", status.name], ["Status:", status.availableReplicas > 0 ? "Ready" : "Not Ready"],
            ["Replicas:", String(status.replicas)], ["Available replicas:", String(status.availableReplicas)],
            ["Invocations:", String(Int(status.invocationCount))], ["Image:", status.image],
            ["Digest:", status.digest ?? "-"], ["Runtime:", status.runtime ?? "-"], ["Engine:", status.engine ?? "-"],
            ["Function process:", status.envProcess ?? "-"], ["URL:", "\(client.baseURL)/function/\(status.name)"],
        ]
        for (title, map) in [("Labels:", status.labels), ("Annotations:", status.annotations), ("Environment:", status.envVars)] {
            let entries = (map ?? [:]).sorted { $0.key < $1.key }
            rows.append([title, entries.isEmpty ? "-" : entries.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")])
        }
        if let memory = status.limits?.memory { rows.append(["Memory limit:", memory]) }
        if let trigger = status.trigger {
            let format = ISO8601DateFormatter()
            rows.append(["Timer:", "\(trigger.schedule) (\(trigger.timezone))" + (trigger.target.map { " → :\($0)" } ?? "")])
            rows.append(["Next run:", trigger.nextRun.map(format.string) ?? "-"])
            rows.append(["Last run:", trigger.lastRun.map { run in
                format.string(from: run.tick) + " → " + (run.status.map(String.init) ?? "failed") + (run.error.map { " (\($0))" } ?? "")
            } ?? "-"])
        }
        printTable(rows)
        if let versions = status.versions, !versions.isEmpty {
            print("")
            printTable(VersionRows.header + versions.map(VersionRows.row))
        }
        if let aliases = status.aliases, !aliases.isEmpty {
            print("")
            printTable([["ALIAS", "ROUTES"]] + aliases.map { [$0.name ?? "-", AliasRows.routes($0.routes)] })
        }
    }
}

/// `stratus remove NAME…`.
struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove deployed functions.", aliases: ["rm", "delete"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function names (NAME.NAMESPACE for one outside openfaas-fn).") var names: [String]

    func run() async throws {
        guard !names.isEmpty else { throw ValidationError("name at least one function to remove") }
        let client = options.client()
        for name in names {
            try await client.sendJSON(.DELETE, "/system/functions", DeleteFunctionRequest(functionName: name))
            print("Removed: \(name)")
        }
    }
}

/// `stratus scale NAME --replicas N`.
struct Scale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set how many replicas of a function run.",
        discussion: """
            Every kind of function has replicas: warm instances for Wasm, a process each for http mode \
            and custom runtimes, and units of capacity for classic functions (each admits max_inflight calls; \
            a call still gets a process of its own). The count is kept across restarts, clamped to \
            com.openfaas.scale.max, and is the floor the autoscaler keeps; 0 frees every replica until the \
            next call starts one again (that call waits instead of failing).
            """)
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn), or NAME:N for published version N.") var name: String
    @Option(name: .long, help: "Replicas to run (0 or more).") var replicas: Int

    func run() async throws {
        guard replicas >= 0 else { throw ValidationError("--replicas must be 0 or more") }
        let client = options.client()
        try await client.sendJSON(.POST, "/system/scale-function/\(name)", ScaleServiceRequest(serviceName: name, replicas: replicas))
        // The gateway clamps the count to com.openfaas.scale.max: say what it applied.
        let applied: Int
        if let colon = name.lastIndex(of: ":"), let number = Int(name[name.index(after: colon)...]) {
            let base = String(name[..<colon])
            let versions = try client.decode([VersionStatus].self, try await client.expectSuccess(.GET, "/system/function/\(base)/versions"))
            applied = versions.first { $0.version == number }?.replicas ?? replicas
        } else {
            applied = try client.decode(FunctionStatus.self, try await client.expectSuccess(.GET, "/system/function/\(name)")).replicas
        }
        let clamped = applied < replicas ? " (its com.openfaas.scale.max)" : ""
        print("Scaled \(name) to \(applied) replica\(applied == 1 ? "" : "s")\(clamped)")
    }
}

/// `stratus invoke NAME < body`.
struct Invoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Call a function with standard input as the request body.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Function name (NAME.NAMESPACE for one outside openfaas-fn).") var name: String
    @Option(name: [.customShort("H"), .long], help: "Request header NAME=VALUE (repeatable).") var header: [String] = []
    @Option(name: .long, help: "Query parameter KEY=VALUE (repeatable).") var query: [String] = []
    @Option(name: [.short, .long], help: "HTTP method.") var method: String = "POST"
    @Option(name: .customLong("content-type"), help: "Content-Type of the body.") var contentType: String = "text/plain"

    func run() async throws {
        var headers = [("Content-Type", contentType)]
        for entry in header {
            guard let eq = entry.firstIndex(of: "=") else { throw ValidationError("header '\(entry)' must be NAME=VALUE") }
            headers.append((String(entry[..<eq]), String(entry[entry.index(after: eq)...])))
        }
        for entry in query where !entry.contains("=") { throw ValidationError("query '\(entry)' must be KEY=VALUE") }
        let queryString = query.map { $0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0 }.joined(separator: "&")
        if isatty(STDIN_FILENO) != 0 {
            FileHandle.standardError.write(Data("Reading from STDIN - hit (Control + D) to stop.\n".utf8))
        }
        let body = Array(FileHandle.standardInput.readDataToEndOfFile())
        let path = "/function/\(name)" + (queryString.isEmpty ? "" : "?\(queryString)")
        let reply = try await options.client().send(.init(rawValue: method.uppercased()), path, body: body, headers: headers, authenticate: false)
        FileHandle.standardOutput.write(Data(reply.body))
        guard (200..<300).contains(reply.status) else {
            throw CLIError("server returned \(reply.status)")
        }
    }
}

/// Prints rows as aligned columns.
func printTable(_ rows: [[String]]) {
    guard let columns = rows.map(\.count).max() else { return }
    var widths = Array(repeating: 0, count: columns)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    for row in rows {
        let line = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
        }.joined()
        print(line)
    }
}
