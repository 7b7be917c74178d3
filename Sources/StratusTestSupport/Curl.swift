public import Foundation

/// curl, as the integration tests drive the server over real HTTP.
public enum Curl {
    /// Runs `curl -s ARGUMENTS`; returns what it printed.
    public static func run(_ arguments: [String]) throws -> String {
        try start(arguments).output()
    }

    /// A curl started in the background (for load: several at once).
    public struct Running {
        let process: Process
        let stdout: Pipe

        /// What it printed, once it has finished.
        public func output() -> String {
            let text = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text
        }
    }

    /// Starts `curl -s ARGUMENTS` without waiting for it.
    public static func start(_ arguments: [String]) throws -> Running {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s"] + arguments
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        return Running(process: curl, stdout: output)
    }

    /// One request: the status, the response head (status line and headers) and the body.
    public static func request(_ url: String, method: String = "POST", body: String, headers: [String] = [])
        throws -> (status: Int, head: String, body: String)
    {
        let text = try run(["-D", "-", "-X", method, "--data-binary", body, url] + headers.flatMap { ["-H", $0] })
        let parts = text.components(separatedBy: "\r\n\r\n")
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, parts.first ?? "", parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// Only the status code of a request made with `arguments` (`0` when no HTTP answer came).
    public static func status(_ arguments: [String]) throws -> Int {
        Int(try run(["-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30"] + arguments)) ?? 0
    }
}
