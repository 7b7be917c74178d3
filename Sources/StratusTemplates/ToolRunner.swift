import Foundation

/// What a finished tool process left behind.
struct ToolOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs command-line tools synchronously with Foundation's `Process`.
enum ToolRunner {
    /// Runs `tool` with `arguments` in `directory`; output goes through files, so a chatty tool
    /// can never block on a full pipe.
    static func run(_ tool: String, _ arguments: [String], in directory: URL, scratch: URL) throws(BuildError) -> ToolOutput {
        let files = FileManager.default
        let name = UUID().uuidString
        let outURL = scratch.appendingPathComponent("\(name).out")
        let errURL = scratch.appendingPathComponent("\(name).err")
        guard files.createFile(atPath: outURL.path, contents: nil), files.createFile(atPath: errURL.path, contents: nil),
              let out = try? FileHandle(forWritingTo: outURL), let err = try? FileHandle(forWritingTo: errURL)
        else { throw BuildError(.ioFailed("cannot create temporary files in \(scratch.path)")) }
        defer {
            try? out.close()
            try? err.close()
            try? files.removeItem(at: outURL)
            try? files.removeItem(at: errURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = scratch.path  // clang's intermediate files stay in the build folder
        process.environment = environment
        do { try process.run() } catch {
            throw BuildError(.missingTool(name: tool, hint: "it could not be started: \(error.localizedDescription)"))
        }
        process.waitUntilExit()
        let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return ToolOutput(status: status, stdout: stdout, stderr: stderr)
    }
}
