public import Foundation

/// Files the setup step (`make setup-models`) puts under `.cache/` (ONNX Runtime's and Wasmtime's
/// libraries): found from the current directory or beside the executable, or in a folder above either.
public enum SetupFiles {
    /// The first `relative` path (e.g. `.cache/wasmtime/lib/libwasmtime.so`) that exists in the
    /// current directory or above it, then in the executable's directory or above it. The
    /// parameters replace the process's current directory and executable (for tests).
    public static func find(_ relative: String, currentDirectory: String? = nil, executablePath: String? = nil) -> String? {
        var starts = [URL(fileURLWithPath: currentDirectory ?? FileManager.default.currentDirectoryPath, isDirectory: true)]
        if let executablePath = executablePath ?? Bundle.main.executablePath {
            starts.append(URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for start in starts {
            var directory = start.standardizedFileURL
            while true {
                let candidate = directory.appendingPathComponent(relative)
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return nil
    }
}
