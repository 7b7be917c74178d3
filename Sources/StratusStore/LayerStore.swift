public import Foundation
import GRDB
public import StratusModel

/// Published layer versions; the archives themselves are artifacts.
public protocol LayerStore: Sendable {
    /// Publishes `digest` (an artifact) as the next version of `name`, unless the latest version
    /// already holds it; returns the version and whether it is new.
    func publishLayer(name: String, digest: Digest, size: Int) async throws(StoreError) -> (record: LayerRecord, created: Bool)
    /// Every version of every layer, by name then version.
    func layers() async throws(StoreError) -> [LayerRecord]
    /// A version of `name`, or its latest when `version` is nil.
    func layer(name: String, version: Int?) async throws(StoreError) -> LayerRecord?
    /// Removes one version; `false` when there was none.
    func removeLayer(name: String, version: Int) async throws(StoreError) -> Bool
}

extension SQLiteStore: LayerStore {
    static func registerLayerMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7: layers") { db in
            try db.create(table: "layer") { t in
                t.column("name", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("digest", .text).notNull().references("artifact")
                t.column("size", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["name", "version"])
            }
        }
    }

    public func publishLayer(name: String, digest: Digest, size: Int) async throws(StoreError) -> (record: LayerRecord, created: Bool) {
        let now = Date()
        let (version, created, createdAt) = try await writeDatabase { db -> (Int, Bool, Date) in
            let latest = try Row.fetchOne(db, sql: "SELECT version, digest, createdAt FROM layer WHERE name = ? ORDER BY version DESC LIMIT 1",
                                          arguments: [name])
            if let latest, (latest["digest"] as String) == digest.description {
                return (latest["version"] as Int, false, latest["createdAt"] as Date)
            }
            let next = ((latest?["version"] as Int?) ?? 0) + 1
            try db.execute(sql: "INSERT INTO layer (name, version, digest, size, createdAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, next, digest.description, size, now])
            return (next, true, now)
        }
        return (LayerRecord(name: name, version: version, digest: digest, size: size, createdAt: createdAt), created)
    }

    public func layers() async throws(StoreError) -> [LayerRecord] {
        try await fetchLayers(sql: "SELECT name, version, digest, size, createdAt FROM layer ORDER BY name, version", arguments: [])
    }

    public func layer(name: String, version: Int?) async throws(StoreError) -> LayerRecord? {
        if let version {
            return try await fetchLayers(sql: "SELECT name, version, digest, size, createdAt FROM layer WHERE name = ? AND version = ?",
                                         arguments: [name, version]).first
        }
        return try await fetchLayers(sql: "SELECT name, version, digest, size, createdAt FROM layer WHERE name = ? ORDER BY version DESC LIMIT 1",
                                     arguments: [name]).first
    }

    public func removeLayer(name: String, version: Int) async throws(StoreError) -> Bool {
        try await writeDatabase { db in
            try db.execute(sql: "DELETE FROM layer WHERE name = ? AND version = ?", arguments: [name, version])
            return db.changesCount > 0
        }
    }

    private func fetchLayers(sql: String, arguments: StatementArguments) async throws(StoreError) -> [LayerRecord] {
        let rows = try await readDatabase { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                (name: $0["name"] as String, version: $0["version"] as Int, digest: $0["digest"] as String, size: $0["size"] as Int,
                 createdAt: $0["createdAt"] as Date)
            }
        }
        var records: [LayerRecord] = []
        for row in rows {
            guard let digest = try? Digest(row.digest) else { throw .corruptRecord("layer '\(row.name)' version \(row.version) has an invalid digest") }
            records.append(LayerRecord(name: row.name, version: row.version, digest: digest, size: row.size, createdAt: row.createdAt))
        }
        return records
    }
}
