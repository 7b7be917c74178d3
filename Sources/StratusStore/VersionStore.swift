public import Foundation
import GRDB
public import StratusModel

/// What removing a version did.
public enum RemoveVersionOutcome: Sendable, Equatable {
    case removed
    case notFound
    /// Aliases still send calls to it (their names): move them first.
    case referenced([String])
}

/// What saving an alias did.
public enum SetAliasOutcome: Sendable, Equatable {
    case saved(created: Bool)
    case functionNotFound
    /// The routes name versions that were never published (or were removed).
    case missingVersions([Int])
}

/// Published versions of functions and the aliases that route to them. Versions are numbered from 1
/// per function and a number is never given twice, even after its version is removed.
public protocol VersionStore: Sendable {
    /// Freezes the function's current deployment as its next version; `nil` when it is not deployed.
    func publishVersion(of function: FunctionName, description: String, now: Date) async throws(StoreError) -> FunctionVersion?
    /// The function's versions, oldest first.
    func versions(of function: FunctionName) async throws(StoreError) -> [FunctionVersion]
    /// Every version of every function, by function then number.
    func allVersions() async throws(StoreError) -> [FunctionVersion]
    /// Keeps the replicas a version was scaled to (the one thing about a version that changes); `false`
    /// when there is no such version.
    func setVersionReplicas(of function: FunctionName, _ version: Int, replicas: Int) async throws(StoreError) -> Bool
    /// Removes one version unless an alias routes to it.
    func removeVersion(of function: FunctionName, _ version: Int) async throws(StoreError) -> RemoveVersionOutcome
    /// Creates or replaces an alias; every version it routes to must exist.
    func setAlias(_ alias: FunctionAlias) async throws(StoreError) -> SetAliasOutcome
    /// Removes an alias; `false` when there was none.
    func removeAlias(of function: FunctionName, named name: String) async throws(StoreError) -> Bool
    /// Every alias of every function, by function then name.
    func allAliases() async throws(StoreError) -> [FunctionAlias]
}

/// How both stores keep versions and aliases (JSON beside the columns they are queried by).
public enum VersionCoding {
    public static func decodeAlias(function: String, name: String, routes: String, updatedAt: Double) throws(StoreError) -> FunctionAlias {
        guard let owner = try? FunctionName(parsing: function),
              let decoded = try? JSONDecoder().decode([AliasRoute].self, from: Data(routes.utf8)),
              let alias = try? FunctionAlias(function: owner, name: name, routes: decoded, updatedAt: Date(timeIntervalSince1970: updatedAt))
        else { throw .corruptRecord("alias \(function):\(name) is unreadable") }
        return alias
    }

    public static func encodeRoutes(_ routes: [AliasRoute]) -> String {
        String(decoding: (try? JSONEncoder().encode(routes)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Versions from their stored columns: function, version, description, spec, createdAt.
    public static func versions(_ rows: [(String, Int, String, String, Double)]) throws(StoreError) -> [FunctionVersion] {
        var versions: [FunctionVersion] = []
        for (function, number, description, spec, createdAt) in rows {
            guard let owner = try? FunctionName(parsing: function) else { throw .corruptRecord("version \(number) of '\(function)' is unreadable") }
            versions.append(FunctionVersion(function: owner, version: number, description: description, spec: try SpecCoding.decode(spec),
                                            createdAt: Date(timeIntervalSince1970: createdAt)))
        }
        return versions
    }

    /// The aliases among `aliases` that route to `version`.
    public static func referencing(_ version: Int, in aliases: [(name: String, routes: String)]) -> [String] {
        aliases.filter { alias in
            ((try? JSONDecoder().decode([AliasRoute].self, from: Data(alias.routes.utf8))) ?? []).contains { $0.version == version }
        }.map(\.name).sorted()
    }
}

extension SQLiteStore: VersionStore {
    static func registerVersionMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10: versions, aliases, timer triggers") { db in
            try db.create(table: "functionVersion") { t in
                t.column("function", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("description", .text).notNull()
                t.column("spec", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.primaryKey(["function", "version"])
            }
            // The last number given per function: numbers are never reused.
            try db.create(table: "functionVersionSeq") { t in
                t.primaryKey("function", .text)
                t.column("last", .integer).notNull()
            }
            try db.create(table: "functionAlias") { t in
                t.column("function", .text).notNull()
                t.column("name", .text).notNull()
                t.column("routes", .text).notNull()
                t.column("updatedAt", .double).notNull()
                t.primaryKey(["function", "name"])
            }
            try db.create(table: "timerTrigger") { t in
                t.primaryKey("function", .text)
                t.column("schedule", .text).notNull()
                t.column("lastTick", .integer).notNull()
                t.column("lastFiredBy", .text)
                t.column("lastRunTick", .integer)
                t.column("lastStatus", .integer)
                t.column("lastError", .text)
                t.column("lastRunAt", .double)
            }
        }
    }

    public func publishVersion(of function: FunctionName, description: String, now: Date) async throws(StoreError) -> FunctionVersion? {
        let key = function.base.qualified
        return try await writeDatabase { db -> FunctionVersion? in
            guard let json = try String.fetchOne(db, sql: "SELECT spec FROM function WHERE name = ?", arguments: [key]) else { return nil }
            let latest = try SpecCoding.decode(json)
            let last = try Int.fetchOne(db, sql: "SELECT last FROM functionVersionSeq WHERE function = ?", arguments: [key]) ?? 0
            let number = last + 1
            let spec = try FunctionVersion.freeze(latest, as: number, now: now)
            let stored = try SpecCoding.encode(spec)
            // Read back as stored (dates to the second), so every reader sees the same record.
            let version = FunctionVersion(function: function.base, version: number, description: description, spec: try SpecCoding.decode(stored),
                                          createdAt: now)
            try db.execute(sql: "INSERT OR REPLACE INTO functionVersionSeq (function, last) VALUES (?, ?)", arguments: [key, number])
            try db.execute(sql: "INSERT INTO functionVersion (function, version, description, spec, createdAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key, number, description, stored, now.timeIntervalSince1970])
            return version
        }
    }

    public func versions(of function: FunctionName) async throws(StoreError) -> [FunctionVersion] {
        try await readVersions(where: "WHERE function = ?", [function.base.qualified])
    }

    public func allVersions() async throws(StoreError) -> [FunctionVersion] {
        try await readVersions(where: "", [])
    }

    private func readVersions(where clause: String, _ arguments: [String]) async throws(StoreError) -> [FunctionVersion] {
        let rows = try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT * FROM functionVersion \(clause) ORDER BY function, version", arguments: StatementArguments(arguments))
                .map { ($0["function"] as String, $0["version"] as Int, $0["description"] as String, $0["spec"] as String, $0["createdAt"] as Double) }
        }
        return try VersionCoding.versions(rows)
    }

    public func setVersionReplicas(of function: FunctionName, _ version: Int, replicas: Int) async throws(StoreError) -> Bool {
        let key = function.base.qualified
        return try await writeDatabase { db -> Bool in
            guard let json = try String.fetchOne(db, sql: "SELECT spec FROM functionVersion WHERE function = ? AND version = ?", arguments: [key, version])
            else { return false }
            var spec = try SpecCoding.decode(json)
            spec.replicas = replicas
            try db.execute(sql: "UPDATE functionVersion SET spec = ? WHERE function = ? AND version = ?",
                           arguments: [try SpecCoding.encode(spec), key, version])
            return true
        }
    }

    public func removeVersion(of function: FunctionName, _ version: Int) async throws(StoreError) -> RemoveVersionOutcome {
        let key = function.base.qualified
        return try await writeDatabase { db -> RemoveVersionOutcome in
            let aliases = try Row.fetchAll(db, sql: "SELECT name, routes FROM functionAlias WHERE function = ?", arguments: [key])
                .map { (name: $0["name"] as String, routes: $0["routes"] as String) }
            let referencing = VersionCoding.referencing(version, in: aliases)
            guard referencing.isEmpty else {
                let exists = try Int.fetchOne(db, sql: "SELECT 1 FROM functionVersion WHERE function = ? AND version = ?", arguments: [key, version]) != nil
                return exists ? .referenced(referencing) : .notFound
            }
            try db.execute(sql: "DELETE FROM functionVersion WHERE function = ? AND version = ?", arguments: [key, version])
            return db.changesCount > 0 ? .removed : .notFound
        }
    }

    public func setAlias(_ alias: FunctionAlias) async throws(StoreError) -> SetAliasOutcome {
        let key = alias.function.qualified
        let routes = VersionCoding.encodeRoutes(alias.routes)
        return try await writeDatabase { db -> SetAliasOutcome in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM function WHERE name = ?", arguments: [key]) != nil else { return .functionNotFound }
            let known = Set(try Int.fetchAll(db, sql: "SELECT version FROM functionVersion WHERE function = ?", arguments: [key]))
            let missing = alias.routes.map(\.version).filter { !known.contains($0) }
            guard missing.isEmpty else { return .missingVersions(missing) }
            let existed = try Int.fetchOne(db, sql: "SELECT 1 FROM functionAlias WHERE function = ? AND name = ?", arguments: [key, alias.name]) != nil
            try db.execute(sql: "INSERT OR REPLACE INTO functionAlias (function, name, routes, updatedAt) VALUES (?, ?, ?, ?)",
                           arguments: [key, alias.name, routes, alias.updatedAt.timeIntervalSince1970])
            return .saved(created: !existed)
        }
    }

    public func removeAlias(of function: FunctionName, named name: String) async throws(StoreError) -> Bool {
        try await writeDatabase { db in
            try db.execute(sql: "DELETE FROM functionAlias WHERE function = ? AND name = ?", arguments: [function.base.qualified, name])
            return db.changesCount > 0
        }
    }

    public func allAliases() async throws(StoreError) -> [FunctionAlias] {
        let rows = try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT * FROM functionAlias ORDER BY function, name")
                .map { ($0["function"] as String, $0["name"] as String, $0["routes"] as String, $0["updatedAt"] as Double) }
        }
        var aliases: [FunctionAlias] = []
        for row in rows { aliases.append(try VersionCoding.decodeAlias(function: row.0, name: row.1, routes: row.2, updatedAt: row.3)) }
        return aliases
    }

    /// A function's versions, aliases and timer state go with it.
    static func removeDependents(of key: String, in db: Database) throws {
        try db.execute(sql: "DELETE FROM functionVersion WHERE function = ?", arguments: [key])
        try db.execute(sql: "DELETE FROM functionAlias WHERE function = ?", arguments: [key])
        try db.execute(sql: "DELETE FROM timerTrigger WHERE function = ?", arguments: [key])
    }
}
