import Foundation
import Logging
import StratusArchive
import StratusModel
import StratusStore

/// The static sites the gateway serves: each name points at an archive unpacked once under
/// `<data>/sites/<digest>/`. The store keeps name → digest, so sites come back after a restart.
final class SiteDirectory: Sendable {
    struct Entry: Sendable {
        let digest: Digest
        let folder: URL
        let files: Int
        let deployedAt: Date
    }

    /// Where archives are unpacked.
    let root: URL
    private let store: any SiteStore & ArtifactStore
    private let table = LockedTable()

    init(root: URL, store: any SiteStore & ArtifactStore) throws {
        self.root = root
        self.store = store
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// Unpacks every stored site; one that fails is logged and skipped.
    func restore(logger: Logger) async throws {
        for record in try await store.sites() {
            do {
                let bytes = try await store.artifactBytes(record.digest)
                table.set(record.name.rawValue, try unpack(bytes, digest: record.digest, deployedAt: record.deployedAt))
            } catch {
                logger.error("cannot restore site", metadata: ["site": "\(record.name)", "error": "\(error)"])
            }
        }
    }

    /// Serves what the store says now (a cluster: another node deployed or removed a site): sites
    /// whose archive changed are unpacked, sites the store no longer has stop being served.
    func sync(logger: Logger) async throws {
        let records = try await store.sites()
        for record in records where table.get(record.name.rawValue)?.digest != record.digest {
            do {
                let bytes = try await store.artifactBytes(record.digest)
                if let previous = table.set(record.name.rawValue, try unpack(bytes, digest: record.digest, deployedAt: record.deployedAt)) {
                    removeFolderIfUnused(previous)
                }
                logger.info("site updated from the cluster", metadata: ["site": "\(record.name)"])
            } catch {
                logger.error("cannot unpack site", metadata: ["site": "\(record.name)", "error": "\(error)"])
            }
        }
        let names = Set(records.map(\.name.rawValue))
        for name in table.all().keys where !names.contains(name) {
            if let entry = table.remove(name) { removeFolderIfUnused(entry) }
            logger.info("site removed through another node", metadata: ["site": "\(name)"])
        }
    }

    /// Stores the tar.gz `bytes` and serves them as site `name` (replacing what it served before).
    func deploy(_ name: FunctionName, archive bytes: [UInt8]) async throws -> (status: SiteStatus, created: Bool) {
        guard Archive.isGzip(bytes) else {
            throw GatewayError.badRequest("invalid site: the body must be a gzip'd tar archive of the site's folder (tar -czf - -C DIR .)")
        }
        let digest = contentDigest(bytes)
        let now = Date()
        let entry = try unpack(bytes, digest: digest, deployedAt: now)
        guard FileManager.default.fileExists(atPath: entry.folder.appendingPathComponent("index.html").path) else {
            removeFolderIfUnused(entry)
            throw GatewayError.badRequest("invalid site: the archive has no index.html at its top level (the page /sites/\(name)/ shows)")
        }
        do {
            _ = try await store.putArtifact(bytes, name: nil)
            try await store.saveSite(SiteRecord(name: name, digest: digest, deployedAt: now))
        } catch {
            throw GatewayError.from(error)
        }
        let previous = table.set(name.rawValue, entry)
        if let previous { removeFolderIfUnused(previous) }
        return (status(name.rawValue, entry), previous == nil)
    }

    /// Stops serving site `name`; `false` when there was none.
    func remove(_ name: FunctionName) async throws -> Bool {
        let removed: Bool
        do { removed = try await store.removeSite(named: name) } catch { throw GatewayError.from(error) }
        if let entry = table.remove(name.rawValue) { removeFolderIfUnused(entry) }
        return removed
    }

    /// Every site, ordered by name.
    func list() -> [SiteStatus] {
        table.all().sorted { $0.key < $1.key }.map { status($0.key, $0.value) }
    }

    /// The site's status, or nil.
    func site(_ name: String) -> SiteStatus? {
        table.get(name).map { status(name, $0) }
    }

    /// What `GET /sites/NAME/PATH` serves.
    enum Lookup: Equatable {
        case file(URL)
        /// A folder asked for without its trailing slash: redirect so relative links resolve.
        case redirect
        case notFound
    }

    /// The file for `path` (percent-decoded segments) in site `name`: a folder means its index.html.
    func lookup(site name: String, segments: [String], trailingSlash: Bool) -> Lookup {
        guard let entry = table.get(name) else { return .notFound }
        var url = entry.folder
        for segment in segments where !segment.isEmpty {
            guard segment != "..", segment != ".", !segment.contains("/"), !segment.contains("\0") else { return .notFound }
            url.appendPathComponent(segment)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return .notFound }
        if isDirectory.boolValue {
            if !trailingSlash { return .redirect }
            url.appendPathComponent("index.html")
            guard FileManager.default.fileExists(atPath: url.path) else { return .notFound }
        }
        // Archives with links are refused at deploy; this guards against anything else on disk.
        let real = url.resolvingSymlinksInPath().path
        guard real.hasPrefix(entry.folder.resolvingSymlinksInPath().path + "/") else { return .notFound }
        return .file(url)
    }

    private func status(_ name: String, _ entry: Entry) -> SiteStatus {
        SiteStatus(name: name, digest: entry.digest.description, files: entry.files, deployedAt: entry.deployedAt)
    }

    private func unpack(_ bytes: [UInt8], digest: Digest, deployedAt: Date) throws -> Entry {
        let folder = root.appendingPathComponent(digest.hex)
        if !FileManager.default.fileExists(atPath: folder.path) {
            do {
                try Archive.unpack([bytes], into: folder, allowLinks: false)
            } catch .invalid(let why) {
                throw GatewayError.badRequest("invalid site archive: \(why)")
            } catch {
                throw GatewayError(.internalServerError, "cannot unpack the site: \(error)")
            }
        }
        let files = ((try? FileManager.default.subpathsOfDirectory(atPath: folder.path)) ?? []).filter { relative in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder.appendingPathComponent(relative).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.count
        return Entry(digest: digest, folder: folder, files: files, deployedAt: deployedAt)
    }

    private func removeFolderIfUnused(_ entry: Entry) {
        guard !table.all().values.contains(where: { $0.digest == entry.digest }) else { return }
        try? FileManager.default.removeItem(at: entry.folder)
    }
}

/// name → entry, behind a lock.
private final class LockedTable: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: SiteDirectory.Entry] = [:]

    func get(_ name: String) -> SiteDirectory.Entry? { lock.withLock { entries[name] } }
    @discardableResult
    func set(_ name: String, _ entry: SiteDirectory.Entry) -> SiteDirectory.Entry? {
        lock.withLock { entries.updateValue(entry, forKey: name) }
    }
    func remove(_ name: String) -> SiteDirectory.Entry? { lock.withLock { entries.removeValue(forKey: name) } }
    func all() -> [String: SiteDirectory.Entry] { lock.withLock { entries } }
}
