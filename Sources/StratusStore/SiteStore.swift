public import Foundation
import GRDB
public import StratusModel

/// A deployed static site: its name and the archive it serves.
public struct SiteRecord: Sendable, Equatable {
    public var name: FunctionName
    public var digest: Digest
    public var deployedAt: Date

    public init(name: FunctionName, digest: Digest, deployedAt: Date) {
        self.name = name
        self.digest = digest
        self.deployedAt = deployedAt
    }
}

/// Which archive each static site serves; survives restarts.
public protocol SiteStore: Sendable {
    /// Points site `name` at the stored archive `digest` (inserting or replacing).
    func saveSite(_ record: SiteRecord) async throws(StoreError)
    /// Every site, ordered by name.
    func sites() async throws(StoreError) -> [SiteRecord]
    /// Removes a site; `false` when there was none.
    func removeSite(named name: FunctionName) async throws(StoreError) -> Bool
}

extension SQLiteStore: SiteStore {
    static func registerSiteMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5: static sites") { db in
            try db.create(table: "site") { t in
                t.primaryKey("name", .text)
                t.column("digest", .text).notNull().references("artifact")
                t.column("deployedAt", .datetime).notNull()
            }
        }
    }

    public func saveSite(_ record: SiteRecord) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: "INSERT OR REPLACE INTO site (name, digest, deployedAt) VALUES (?, ?, ?)",
                           arguments: [record.name.rawValue, record.digest.description, record.deployedAt])
        }
    }

    public func sites() async throws(StoreError) -> [SiteRecord] {
        let rows = try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT name, digest, deployedAt FROM site ORDER BY name").map {
                (name: $0["name"] as String, digest: $0["digest"] as String, deployedAt: $0["deployedAt"] as Date)
            }
        }
        var records: [SiteRecord] = []
        for row in rows {
            guard let name = try? FunctionName(row.name), let digest = try? Digest(row.digest) else {
                throw .corruptRecord("site '\(row.name)' has an invalid name or digest")
            }
            records.append(SiteRecord(name: name, digest: digest, deployedAt: row.deployedAt))
        }
        return records
    }

    public func removeSite(named name: FunctionName) async throws(StoreError) -> Bool {
        try await writeDatabase { db in
            try db.execute(sql: "DELETE FROM site WHERE name = ?", arguments: [name.rawValue])
            return db.changesCount > 0
        }
    }
}
