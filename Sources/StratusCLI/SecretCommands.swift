import ArgumentParser
import Foundation
import StratusModel

/// `stratus secret …`: manage secrets (values are sent once and never shown again).
struct Secret: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list, update and remove secrets (encrypted at rest on the server).",
        subcommands: [SecretCreate.self, SecretList.self, SecretUpdate.self, SecretRemove.self])
}

/// Where a secret's value comes from.
struct SecretValueOptions: ParsableArguments {
    @Option(name: .customLong("from-literal"), help: "The value, as text (it shows in `ps`; prefer --from-file).") var literal: String?
    @Option(name: .customLong("from-file"), help: "Read the value from this file (any bytes).") var file: String?
    @Option(name: [.short, .long], help: "The namespace the secret lives in (default openfaas-fn); only its functions can use it.") var namespace: String?

    func request(name: String) throws -> SecretRequest {
        switch (literal, file) {
        case (let text?, nil): return SecretRequest(name: name, namespace: namespace, value: text)
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
            return SecretRequest(name: name, namespace: namespace, rawValue: data.base64EncodedString())
        default: throw ValidationError("give exactly one of --from-literal or --from-file")
        }
    }
}

struct SecretCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a secret.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Secret name.") var name: String
    @OptionGroup var value: SecretValueOptions

    func run() async throws {
        try await options.client().sendJSON(.POST, "/system/secrets", try value.request(name: name))
        print("Created: \(name)")
    }
}

struct SecretUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Replace a secret's value.")
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Secret name.") var name: String
    @OptionGroup var value: SecretValueOptions

    func run() async throws {
        try await options.client().sendJSON(.PUT, "/system/secrets", try value.request(name: name))
        print("Updated: \(name)")
    }
}

struct SecretList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List secret names (never values).", aliases: ["ls"])
    @OptionGroup var options: GatewayOptions
    @Option(name: [.short, .long], help: "The namespace to list (default openfaas-fn).") var namespace: String?

    func run() async throws {
        let client = options.client()
        let entries = try client.decode([[String: String]].self, try await client.expectSuccess(.GET, "/system/secrets" + GatewayClient.namespaceQuery(namespace)))
        if options.json { return try printJSON(entries) }
        printTable([["Name"]] + entries.compactMap { $0["name"] }.map { [$0] })
    }
}

struct SecretRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove secrets.", aliases: ["rm"])
    @OptionGroup var options: GatewayOptions
    @Argument(help: "Secret names.") var names: [String]
    @Option(name: [.short, .long], help: "The namespace the secrets live in (default openfaas-fn).") var namespace: String?

    func run() async throws {
        guard !names.isEmpty else { throw ValidationError("name at least one secret") }
        for name in names {
            try await options.client().sendJSON(.DELETE, "/system/secrets", SecretRequest(name: name, namespace: namespace))
            print("Removed: \(name)")
        }
    }
}
