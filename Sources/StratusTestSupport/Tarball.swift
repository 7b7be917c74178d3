import Foundation

/// tar.gz archives made with /bin/tar on a temporary folder, as `stratus` uploads bundles, sites and layers.
public enum Tarball {
    /// A tar.gz of `files` (relative path → text) and `links` (path → target); `tarArguments` end
    /// tar's command line (what to pack: `.` by default; other entries make odd archives).
    public static func make(_ files: [String: String], links: [String: String] = [:], tarArguments: [String] = ["."]) throws -> [UInt8] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tarball-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (path, contents) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: url)
        }
        for (path, target) in links {
            try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent(path).path, withDestinationPath: target)
        }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", "-", "-C", folder.path] + tarArguments
        let output = Pipe()
        tar.standardOutput = output
        tar.standardError = FileHandle.nullDevice
        try tar.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        tar.waitUntilExit()
        return Array(data)
    }
}
