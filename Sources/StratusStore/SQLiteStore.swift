public import Foundation
import GRDB
public import StratusModel

/// The embedded store: a SQLite database (`stratus.db`, WAL) plus artifact blobs, under one data directory.
public final class SQLiteStore: FunctionRegistry, ArtifactStore, ChangeFeed {
    private let database: DatabasePool
    private let blobs: BlobDirectory
    /// The file holding the key secrets are encrypted with.
    let keyPath: String
    /// Whether the key file was named by the operator (it must exist then; never generated).
    let keyGiven: Bool

    /// Opens (creating and migrating when needed) the store in `directory`; secrets are sealed with
    /// the key in `keyFile`, else in `<directory>/secret.key` (generated on first use).
    public init(directory: URL, keyFile: String? = nil) throws(StoreError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create data directory \(directory.path): \(error.localizedDescription)")
        }
        keyPath = keyFile ?? directory.appendingPathComponent("secret.key").path
        keyGiven = keyFile != nil
        blobs = try BlobDirectory(root: directory.appendingPathComponent("artifacts"))
        blobs.sweepTemporaries()
        do {
            var config = Configuration()
            config.busyMode = .timeout(5)
            // A commit is on disk before it returns: an accepted async call survives a crash or power loss.
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            database = try DatabasePool(path: directory.appendingPathComponent("stratus.db").path, configuration: config)
            try Self.migrator.migrate(database)
        } catch {
            throw .database("cannot open \(directory.path)/stratus.db: \(error)")
        }
        try checkKey()
    }

    /// A key that does not open the stored key check stops the server before it writes anything;
    /// the first key seen (given, or generated here) is recorded.
    private func checkKey() throws(StoreError) {
        // The default key is made now (not with the first secret), so the check always records the first key.
        let key = try SecretKey.load(from: keyPath, create: !keyGiven)
        let stored: Data?
        do { stored = try database.read { db in try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'keyCheck'") } } catch {
            throw .database("\(error)")
        }
        if let stored { return try key.verify(stored) }
        let check = try key.makeCheck()
        do { try database.write { db in try db.execute(sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('keyCheck', ?)", arguments: [check]) } } catch {
            throw .database("\(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: functions and artifacts") { db in
            try db.create(table: "artifact") { t in
                t.primaryKey("digest", .text)
                t.column("size", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "artifactTag") { t in
                t.primaryKey("name", .text)
                t.column("digest", .text).notNull().references("artifact")
            }
            try db.create(table: "function") { t in
                t.primaryKey("name", .text)
                t.column("namespace", .text).notNull()
                t.column("artifact", .text).notNull().references("artifact")
                t.column("spec", .jsonText).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2: functions without artifacts (host commands)") { db in
            try db.create(table: "function_v2") { t in
                t.primaryKey("name", .text)
                t.column("namespace", .text).notNull()
                t.column("artifact", .text).references("artifact")
                t.column("spec", .jsonText).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.execute(sql: "INSERT INTO function_v2 SELECT name, namespace, artifact, spec, updatedAt FROM function")
            try db.drop(table: "function")
            try db.rename(table: "function_v2", to: "function")
        }
        registerLogMigration(&migrator)
        registerSecretMigration(&migrator)
        registerSiteMigration(&migrator)
        registerQueueMigration(&migrator)
        registerLayerMigration(&migrator)
        registerNamespaceMigration(&migrator)
        migrator.registerMigration("v9: nodes, leases on async calls, key check") { db in
            try db.create(table: "node") { t in
                t.primaryKey("id", .text)
                t.column("address", .text).notNull()
                t.column("version", .text).notNull()
                t.column("startedAt", .double).notNull()
                t.column("heartbeatAt", .double).notNull()
                t.column("functions", .integer).notNull()
                t.column("inflight", .integer).notNull()
            }
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .blob).notNull()
            }
            try db.alter(table: "logLine") { t in t.add(column: "node", .text) }
            try db.alter(table: "asyncCall") { t in
                t.add(column: "claimedBy", .text)
                t.add(column: "leaseUntil", .double)
                t.add(column: "claim", .integer).notNull().defaults(to: 0)
            }
        }
        registerVersionMigration(&migrator)
        return migrator
    }

    // MARK: FunctionRegistry

    public func saveFunction(_ spec: FunctionSpec) async throws(StoreError) {
        let json = try SpecCoding.encode(spec)
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO function (name, namespace, artifact, spec, updatedAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [spec.name.qualified, spec.namespace, spec.artifact?.description, json, spec.updatedAt])
        }
    }

    public func function(named name: FunctionName) async throws(StoreError) -> FunctionSpec? {
        let json = try await read { db in
            try String.fetchOne(db, sql: "SELECT spec FROM function WHERE name = ?", arguments: [name.qualified])
        }
        return try json.map { (text: String) throws(StoreError) in try SpecCoding.decode(text) }
    }

    public func functions() async throws(StoreError) -> [FunctionSpec] {
        let rows = try await read { db in try String.fetchAll(db, sql: "SELECT spec FROM function ORDER BY name") }
        var specs: [FunctionSpec] = []
        for row in rows { specs.append(try SpecCoding.decode(row)) }
        return specs
    }

    public func removeFunction(named name: FunctionName) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM function WHERE name = ?", arguments: [name.qualified])
            let removed = db.changesCount > 0
            // The version counter stays: a function made again under the name never reuses a number.
            if removed { try Self.removeDependents(of: name.qualified, in: db) }
            return removed
        }
    }

    // MARK: ArtifactStore

    public func putArtifact(_ bytes: [UInt8], name: ArtifactName?) async throws(StoreError) -> ArtifactRecord {
        let digest = try blobs.write(bytes)
        let now = Date()
        let size = bytes.count
        return try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO artifact (digest, size, createdAt) VALUES (?, ?, ?)",
                arguments: [digest.description, size, now])
            if let name {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO artifactTag (name, digest) VALUES (?, ?)",
                    arguments: [name.description, digest.description])
            }
            let created = try Date.fetchOne(db, sql: "SELECT createdAt FROM artifact WHERE digest = ?", arguments: [digest.description]) ?? now
            return ArtifactRecord(digest: digest, size: size, createdAt: created)
        }
    }

    public func resolveArtifact(_ reference: String) async throws(StoreError) -> ArtifactRecord? {
        let key: String
        if let digest = try? Digest(reference), reference.hasPrefix("sha256:") {
            key = digest.description
        } else if let name = try? ArtifactName(reference) {
            guard let target = try await read({ db in
                try String.fetchOne(db, sql: "SELECT digest FROM artifactTag WHERE name = ?", arguments: [name.description])
            }) else { return nil }
            key = target
        } else {
            return nil
        }
        let record: ArtifactRecord? = try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT size, createdAt FROM artifact WHERE digest = ?", arguments: [key]),
                let digest = try? Digest(key)
            else { return nil }
            return ArtifactRecord(digest: digest, size: row["size"], createdAt: row["createdAt"])
        }
        return record
    }

    public func artifactBytes(_ digest: Digest) async throws(StoreError) -> [UInt8] {
        try blobs.read(digest)
    }

    // MARK: ChangeFeed (one process writes: nothing to hear)

    public var isShared: Bool { false }
    public func changeCounter() async throws(StoreError) -> Int64 { 0 }
    public func notifications() -> AsyncStream<StoreNotification> { AsyncStream { _ in } }

    // MARK: Helpers

    func readDatabase<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        try await read(body)
    }

    func writeDatabase<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        try await write(body)
    }

    private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await database.read(body) } catch { throw .database("\(error)") }
    }

    private func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await database.write(body) } catch { throw Self.storeError(error) }
    }

    /// A write that broke a unique or primary key is `.duplicate`, so callers can tell it apart by its case.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? DatabaseError,
            error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return .duplicate(error.message ?? "\(error)")
        }
        return .database("\(error)")
    }
}

/// How both stores keep a function's spec: JSON with sorted keys and RFC 3339 dates (to the second).
public enum SpecCoding {
    public static func encode(_ spec: FunctionSpec) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        do { return String(decoding: try encoder.encode(spec), as: UTF8.self) } catch {
            throw .corruptRecord("cannot encode \(spec.name): \(error)")
        }
    }

    public static func decode(_ text: String) throws(StoreError) -> FunctionSpec {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(FunctionSpec.self, from: Data(text.utf8)) } catch {
            throw .corruptRecord("\(error)")
        }
    }
}
