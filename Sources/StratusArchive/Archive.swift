public import Foundation

/// gzip'd tar archives (function bundles, layers, sites): checked, then unpacked with /bin/tar into
/// a staging folder and renamed into place, so a folder is either whole or absent.
public enum Archive {
    /// Whether `bytes` start like a gzip file (an archive) rather than, say, a Wasm module.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Checks that `bytes` is a non-empty tar.gz whose entries all stay inside the folder it unpacks into.
    public static func validate(_ bytes: [UInt8]) throws(ArchiveError) {
        let listing = try Tar.run(["-tzf", "-"], input: bytes)
        let entries = listing.split(separator: "\n").map(String.init)
        guard !entries.isEmpty else { throw .invalid("the archive is empty") }
        for entry in entries {
            let parts = entry.split(separator: "/")
            if entry.hasPrefix("/") || parts.contains("..") {
                throw .invalid("entry '\(entry)' would unpack outside its folder")
            }
        }
    }

    /// Unpacks `archives` one after another into `target` (which must not exist yet), so later
    /// archives' files replace earlier ones'. Atomically: into a staging folder beside `target`, then
    /// renamed. Entries leaving the folder are refused, and so are symbolic and hard links unless
    /// `allowLinks`. A `target` another caller created first wins.
    public static func unpack(_ archives: [[UInt8]], into target: URL, allowLinks: Bool) throws(ArchiveError) {
        for archive in archives { try validate(archive) }
        let staging = target.deletingLastPathComponent().appendingPathComponent(".unpack-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(staging.path): \(error.localizedDescription)")
        }
        do throws(ArchiveError) {
            for archive in archives {
                _ = try Tar.run(["-xzf", "-", "-C", staging.path, "--no-same-owner", "--no-same-permissions"], input: archive)
            }
            if !allowLinks, let link = firstLink(in: staging) {
                throw ArchiveError.invalid("'\(link)' is a link: a site holds plain files and folders only")
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
}
