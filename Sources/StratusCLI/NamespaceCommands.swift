import ArgumentParser
import Foundation
import StratusModel

/// `stratus namespace …`: the namespaces functions and secrets live in (OpenFaaS's, managed as
/// faas-cli 0.16's `namespace` commands do).
struct Namespace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, show, update and remove namespaces.",
        discussion: """
            Functions and secrets live in a namespace (openfaas-fn unless you say otherwise). The same name in two \
            namespaces is two functions; call one as /function/NAME.NAMESPACE. Deploy into a namespace with \
            `stratus deploy --namespace NAME` (or `namespace:` in stack.yml); a function uses the secrets of its own namespace.
            """,
        subcommands: [NamespaceCreate.self, NamespaceList.self, NamespaceGet.self, NamespaceUpdate.self, NamespaceRemove.self],
        aliases: ["ns"])
}

/// Labels and annotations given on the command line.
struct NamespaceMarks: ParsableArguments {
    @Option(name: [.short, .long], help: "Label KEY=VALUE (repeatable).") var label: [String] = []
    @Option(name: .long, help: "Annotation KEY=VALUE (repeatable).") var annotation: [String] = []

    func namespace(_ name: String) throws -> FunctionNamespace {
        FunctionNamespace(name: name, labels: try pairs(label, "--label") ?? [:], annotations: try pairs(annotation, "--annotation") ?? [:])
    }
}

struct NamespaceCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a namespace.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Namespace name (lowercase letters, digits and '-').") var name: String
    @OptionGroup var marks: NamespaceMarks

    func run() async throws {
        try await options.client().sendJSON(.POST, "/system/namespace/", try marks.namespace(name))
        print("Created: \(name)")
    }
}

struct NamespaceUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Replace a namespace's labels and annotations.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Namespace name.") var name: String
    @OptionGroup var marks: NamespaceMarks

    func run() async throws {
        try await options.client().sendJSON(.PUT, "/system/namespace/\(name)", try marks.namespace(name))
        print("Updated: \(name)")
    }
}

struct NamespaceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List namespaces.", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions

    func run() async throws {
        let client = options.client()
        let names = try client.decode([String].self, try await client.expectSuccess(.GET, "/system/namespaces"))
        if options.json { return try printJSON(names) }
        printTable([["Namespace"]] + names.map { [$0] })
    }
}

struct NamespaceGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a namespace's labels and annotations.", aliases: ["describe"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Namespace name.") var name: String

    func run() async throws {
        let client = options.client()
        let namespace = try client.decode(FunctionNamespace.self, try await client.expectSuccess(.GET, "/system/namespace/\(name)"))
        if options.json { return try printJSON(namespace) }
        print("Name:        \(namespace.name)")
        print("Labels:      \((namespace.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
        print("Annotations: \((namespace.annotations ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
    }
}

struct NamespaceRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove empty namespaces (remove their functions and secrets first).", aliases: ["rm", "delete"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Namespace names.") var names: [String]

    func run() async throws {
        guard !names.isEmpty else { throw ValidationError("name at least one namespace") }
        for name in names {
            try await options.client().sendJSON(.DELETE, "/system/namespace/\(name)", FunctionNamespace(name: name, labels: nil, annotations: nil))
            print("Removed: \(name)")
        }
    }
}
