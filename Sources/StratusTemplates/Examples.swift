public import Foundation

/// The demo functions in the Stratus source tree (`examples/`: hello, pycon, classify and its page).
public enum Examples {
    /// `examples/` next to the current folder, or in a folder above the running binary (as when it
    /// runs from `.build/debug/`); nil when neither has the demo.
    public static func folder() -> URL? {
        let files = FileManager.default
        var candidates = [URL(fileURLWithPath: files.currentDirectoryPath).appendingPathComponent("examples")]
        if let executable = try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
            for _ in 0..<5 {
                candidates.append(folder.appendingPathComponent("examples"))
                folder.deleteLastPathComponent()
            }
        }
        return candidates.first { candidate in
            files.fileExists(atPath: candidate.appendingPathComponent("stack.yml").path)
                && files.fileExists(atPath: candidate.appendingPathComponent("classify/handler.swift").path)
        }
    }
}
