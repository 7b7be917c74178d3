import Crypto
public import Foundation
public import StratusModel

#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed files under `<root>/sha256/<hex>`, written atomically (temp file, fsync, rename):
/// the embedded store's artifacts, and a cluster node's disk cache of the shared store's.
public struct BlobDirectory: Sendable {
    public let root: URL

    public init(root: URL) throws(StoreError) {
        self.root = root
        do {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("sha256"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("tmp"), withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(root.path): \(error.localizedDescription)")
        }
    }

    static func digest(of bytes: [UInt8]) -> StratusModel.Digest {
        StratusModel.Digest(hashBytes: SHA256.hash(data: bytes))
    }

    public func path(for digest: StratusModel.Digest) -> String {
        root.appendingPathComponent("sha256").appendingPathComponent(digest.hex).path
    }

    /// Writes `bytes` unless a blob with the same digest exists; returns the digest.
    public func write(_ bytes: [UInt8]) throws(StoreError) -> StratusModel.Digest {
        let digest = Self.digest(of: bytes)
        let final = path(for: digest)
        // A stored copy is kept only when it still matches: writing the same bytes again heals a damaged one.
        if let existing = FileManager.default.contents(atPath: final), Self.digest(of: [UInt8](existing)) == digest { return digest }
        let temp = root.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString).path
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(temp): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let reason = String(cString: strerror(errno))
        close(fd)
        guard ok, rename(temp, final) == 0 else {
            unlink(temp)
            throw .io("cannot write artifact \(digest): \(reason)")
        }
        syncDirectory(root.appendingPathComponent("sha256").path)
        return digest
    }

    public func read(_ digest: StratusModel.Digest) throws(StoreError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path(for: digest)) else { throw .missingArtifact(digest) }
        let bytes = [UInt8](data)
        guard Self.digest(of: bytes) == digest else { throw .corruptArtifact(digest) }
        return bytes
    }

    /// Removes temp files left by a crash mid-write.
    public func sweepTemporaries() {
        let tmp = root.appendingPathComponent("tmp")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] {
            try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
        }
    }

    private func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// The content address of `bytes` (sha256), as the artifact store files them.
public func contentDigest(_ bytes: [UInt8]) -> StratusModel.Digest {
    BlobDirectory.digest(of: bytes)
}
