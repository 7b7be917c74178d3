import Foundation

/// Where Stratus keeps things on this machine.
enum Paths {
    /// `$STRATUS_HOME`, else `~/.stratus`: the server's data directory and the CLI's config.
    static var home: URL {
        if let custom = ProcessInfo.processInfo.environment["STRATUS_HOME"], !custom.isEmpty {
            return URL(fileURLWithPath: custom)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".stratus")
    }

    /// Saved logins, one per gateway URL.
    static var authFile: URL { home.appendingPathComponent("auth.json") }

    static let defaultGateway = "http://127.0.0.1:8080"

    /// The gateway to talk to: flag, then `OPENFAAS_URL`/`STRATUS_URL`, then the stack file, then the default
    /// (faas-cli's order, so one environment works for both CLIs).
    static func gateway(flag: String?, stack: String? = nil) -> String {
        let env = ProcessInfo.processInfo.environment
        let chosen = flag ?? env["OPENFAAS_URL"].nonEmpty ?? env["STRATUS_URL"].nonEmpty ?? stack.nonEmpty ?? defaultGateway
        return chosen.hasSuffix("/") ? String(chosen.dropLast()) : chosen
    }
}

extension Optional where Wrapped == String {
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
