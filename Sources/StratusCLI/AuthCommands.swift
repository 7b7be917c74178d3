import ArgumentParser
import Foundation
import StratusGateway
import StratusModel

/// `stratus login`: checks and saves credentials for a gateway.
struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Save credentials for a gateway (checked against it first).")
    @Option(name: [.short, .long], help: "Gateway URL.") var gateway: String?
    @Option(name: [.short, .long], help: "User name.") var username: String = "admin"
    @Option(name: [.short, .long], help: "Password (prefer --password-stdin: this one shows in `ps`).") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
    @OptionGroup var tls: TLSOptions

    func run() async throws {
        let url = Paths.gateway(flag: gateway)
        var secret = password
        if passwordStdin {
            secret = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let secret, !secret.isEmpty else { throw ValidationError("give a password with --password-stdin or --password") }
        let credentials = Credentials(user: username, password: secret)
        let reply = try await GatewayClient(gateway: url, credentials: credentials, trust: tls.trust).send(.GET, "/system/functions")
        guard reply.status != 401 else { throw CLIError("the gateway at \(url) rejected these credentials (401)") }
        guard (200..<300).contains(reply.status) else { throw CLIError("the gateway at \(url) answered \(reply.status): \(reply.text)") }
        var config = AuthConfig.load()
        config.gateways[url] = credentials
        try config.save()
        print("Credentials saved for \(username) at \(url) (\(Paths.authFile.path))")
    }
}

/// `stratus logout`: forgets saved credentials.
struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Forget the saved credentials for a gateway.")
    @Option(name: [.short, .long], help: "Gateway URL.") var gateway: String?

    func run() async throws {
        let url = Paths.gateway(flag: gateway)
        var config = AuthConfig.load()
        guard config.gateways.removeValue(forKey: url) != nil else {
            print("No credentials were saved for \(url)")
            return
        }
        try config.save()
        print("Credentials removed for \(url)")
    }
}

/// `stratus version`: this client's version and the gateway's.
struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the client's and the gateway's versions.")
    @OptionGroup var options: GatewayOptions

    func run() async throws {
        print("Client: stratus \(StratusVersion.current) (commit \(StratusVersion.commit))")
        let client = options.client()
        if let reply = try? await client.send(.GET, "/system/info"), reply.status == 200,
            let info = try? client.decode(GatewayInfo.self, reply)
        {
            print("Gateway: \(client.baseURL) (\(info.provider.provider) \(info.version.release), commit \(info.version.sha), \(info.arch))")
        } else {
            print("Gateway: \(client.baseURL) (not reachable or not logged in)")
        }
    }
}
