import Foundation
import StratusGateway

/// Logins saved by `stratus login` (mode 0600), keyed by gateway URL.
struct AuthConfig: Codable {
    var gateways: [String: Credentials] = [:]

    static func load() -> AuthConfig {
        guard let data = FileManager.default.contents(atPath: Paths.authFile.path),
            let config = try? JSONDecoder().decode(AuthConfig.self, from: data)
        else { return AuthConfig() }
        return config
    }

    func save() throws {
        try FileManager.default.createDirectory(at: Paths.home, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        let path = Paths.authFile.path
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("cannot write \(path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// Saved credentials for `gateway`; for a gateway on this machine, the local server's own credentials file.
    static func credentials(for gateway: String) -> Credentials? {
        if let saved = load().gateways[gateway] { return saved }
        guard let host = URL(string: gateway)?.host, ["127.0.0.1", "localhost", "::1"].contains(host) else { return nil }
        return Credentials.load(from: Paths.home)
    }
}
