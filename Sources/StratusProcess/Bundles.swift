public import Foundation
public import StratusModel

/// Function bundles: gzip'd tar archives of a handler and its template, unpacked once per digest.
extension ProcessRuntime {
    /// Whether `bytes` start like a gzip file (a bundle) rather than a Wasm module.
    public static func isBundle(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Checks that `bytes` is a tar.gz whose entries all stay inside the folder it unpacks into.
    public func validateBundle(_ bytes: [UInt8]) throws(ProcessError) {
        try Self.checkEntries(bytes)
    }

    /// Checks that `bytes` is a non-empty tar.gz with no absolute or `..` entries.
    public static func validateArchive(_ bytes: [UInt8]) throws(ProcessError) {
        try checkEntries(bytes)
    }

    /// Checks that `bytes` is a non-empty tar.gz whose entries all stay inside the folder it unpacks into.
    static func checkEntries(_ bytes: [UInt8]) throws(ProcessError) {
        let listing = try tar(["-tzf", "-"], input: bytes)
        let entries = listing.split(separator: "\n").map(String.init)
        guard !entries.isEmpty else { throw .invalidBundle("the archive is empty") }
        for entry in entries {
            let parts = entry.split(separator: "/")
            if entry.hasPrefix("/") || parts.contains("..") {
                throw .invalidBundle("entry '\(entry)' would unpack outside its folder")
            }
        }
    }

    /// Unpacks layer archives into `target` (which must not exist yet) one after another, so later
    /// layers' files replace earlier ones'; atomically, as `unpackArchive`.
    public static func unpackLayers(_ archives: [[UInt8]], into target: URL) throws(ProcessError) {
        try unpack(archives, into: target, allowLinks: true)
    }

    /// Unpacks the bundle (once per digest) and returns its folder.
    public func prepareBundle(digest: Digest, bytes: [UInt8]) throws(ProcessError) -> URL {
        let target = bundleDirectory.appendingPathComponent(digest.hex)
        if FileManager.default.fileExists(atPath: target.path) { return target }
        try Self.unpackArchive(bytes, into: target, allowLinks: true)
        return target
    }

    /// Unpacks the tar.gz `bytes` into the folder `target` (which must not exist yet), atomically:
    /// into a staging folder beside it, then renamed. Entries leaving the folder are refused, and so
    /// are symbolic and hard links unless `allowLinks`. A `target` another caller created first wins.
    public static func unpackArchive(_ bytes: [UInt8], into target: URL, allowLinks: Bool) throws(ProcessError) {
        try unpack([bytes], into: target, allowLinks: allowLinks)
    }

    /// `archives` unpacked in order into a staging folder beside `target`, then renamed into place.
    private static func unpack(_ archives: [[UInt8]], into target: URL, allowLinks: Bool) throws(ProcessError) {
        for archive in archives { try checkEntries(archive) }
        let staging = target.deletingLastPathComponent().appendingPathComponent(".unpack-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(staging.path): \(error.localizedDescription)")
        }
        do throws(ProcessError) {
            for archive in archives {
                _ = try tar(["-xzf", "-", "-C", staging.path, "--no-same-owner", "--no-same-permissions"], input: archive)
            }
            if !allowLinks, let link = firstLink(in: staging) {
                throw ProcessError.invalidBundle("'\(link)' is a link: a site holds plain files and folders only")
            }
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        if rename(staging.path, target.path) != 0 {
            try? FileManager.default.removeItem(at: staging)
            guard FileManager.default.fileExists(atPath: target.path) else { throw .io("cannot move the unpacked archive into place") }
        }
    }

    /// The first symbolic link, or file with more than one hard link, under `folder` (relative path).
    static func firstLink(in folder: URL) -> String? {
        let paths = (try? FileManager.default.subpathsOfDirectory(atPath: folder.path)) ?? []
        for relative in paths.sorted() {
            var info = stat()
            guard lstat(folder.appendingPathComponent(relative).path, &info) == 0 else { return relative }
            let type = info.st_mode & S_IFMT
            if type == S_IFLNK || (type == S_IFREG && info.st_nlink > 1) { return relative }
            if type != S_IFREG && type != S_IFDIR { return relative }
        }
        return nil
    }

    /// Runs `tar` with `input` on stdin; the error carries tar's message.
    static func tar(_ arguments: [String], input: [UInt8]) throws(ProcessError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch { throw .io("cannot run /bin/tar: \(error.localizedDescription)") }
        let writer = Thread {
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let errors = Box()
        let errorReader = Thread { errors.data = stderr.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errors.data == nil { usleep(1000) }
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.data ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .invalidBundle("not a gzip'd tar archive (\(message))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

private final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Data?
    var data: Data? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
