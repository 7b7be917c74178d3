public import Foundation
import GRDB
public import StratusModel

/// The namespaces functions and secrets live in, as the operator manages them. The default
/// namespace (`openfaas-fn`) always exists and cannot be removed.
public protocol NamespaceStore: Sendable {
    /// Every namespace, sorted by name.
    func namespaces() async throws(StoreError) -> [FunctionNamespace]
    func namespace(named name: String) async throws(StoreError) -> FunctionNamespace?
    /// Stores a new namespace; `false` when one with that name exists (nothing is changed).
    func createNamespace(_ namespace: FunctionNamespace) async throws(StoreError) -> Bool
    /// Replaces a namespace's labels and annotations; `false` when there is none.
    func updateNamespace(_ namespace: FunctionNamespace) async throws(StoreError) -> Bool
    /// Removes an empty namespace; `.inUse` names what still lives in it.
    func removeNamespace(named name: String) async throws(StoreError) -> NamespaceRemoval
}

/// What removing a namespace did.
public enum NamespaceRemoval: Sendable, Equatable {
    case removed
    case notFound
    /// Functions or secrets still live in it (their names, up to a few).
    case inUse([String])
}

extension SQLiteStore: NamespaceStore {
    static func registerNamespaceMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8: namespaces, secrets per namespace") { db in
            try db.create(table: "namespace") { t in
                t.primaryKey("name", .text)
                t.column("labels", .jsonText).notNull()
                t.column("annotations", .jsonText).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            let marks = String(decoding: try JSONEncoder().encode(NamespaceMarks.openFaaS), as: UTF8.self)
            try db.execute(sql: "INSERT INTO namespace (name, labels, annotations, createdAt) VALUES (?, ?, ?, ?)",
                           arguments: [FunctionName.defaultNamespace, marks, marks, Date()])
            // Secrets were global; they now belong to a namespace, the existing ones to the default.
            try db.create(table: "secret_v2") { t in
                t.column("namespace", .text).notNull()
                t.column("name", .text).notNull()
                t.column("sealed", .blob).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["namespace", "name"])
            }
            try db.execute(sql: "INSERT INTO secret_v2 SELECT ?, name, sealed, updatedAt FROM secret", arguments: [FunctionName.defaultNamespace])
            try db.drop(table: "secret")
            try db.rename(table: "secret_v2", to: "secret")
        }
    }

    public func namespaces() async throws(StoreError) -> [FunctionNamespace] {
        let rows = try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT name, labels, annotations FROM namespace ORDER BY name").map(columns)
        }
        var namespaces: [FunctionNamespace] = []
        for row in rows { namespaces.append(try NamespaceMarks.decode(name: row[0], labels: row[1], annotations: row[2])) }
        return namespaces
    }

    public func namespace(named name: String) async throws(StoreError) -> FunctionNamespace? {
        let row = try await readDatabase { db in
            try Row.fetchOne(db, sql: "SELECT name, labels, annotations FROM namespace WHERE name = ?", arguments: [name]).map(columns)
        }
        return try row.map { (row: [String]) throws(StoreError) in try NamespaceMarks.decode(name: row[0], labels: row[1], annotations: row[2]) }
    }

    public func createNamespace(_ namespace: FunctionNamespace) async throws(StoreError) -> Bool {
        let (labels, annotations) = try NamespaceMarks.encode(namespace)
        return try await writeDatabase { db in
            try db.execute(sql: "INSERT OR IGNORE INTO namespace (name, labels, annotations, createdAt) VALUES (?, ?, ?, ?)",
                           arguments: [namespace.name, labels, annotations, Date()])
            return db.changesCount > 0
        }
    }

    public func updateNamespace(_ namespace: FunctionNamespace) async throws(StoreError) -> Bool {
        let (labels, annotations) = try NamespaceMarks.encode(namespace)
        return try await writeDatabase { db in
            try db.execute(sql: "UPDATE namespace SET labels = ?, annotations = ? WHERE name = ?", arguments: [labels, annotations, namespace.name])
            return db.changesCount > 0
        }
    }

    public func removeNamespace(named name: String) async throws(StoreError) -> NamespaceRemoval {
        try await writeDatabase { db in
            // Checked and removed in one transaction: a deploy into it cannot slip in between.
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM namespace WHERE name = ?", arguments: [name]) == true else { return .notFound }
            let functions = try String.fetchAll(db, sql: "SELECT name FROM function WHERE namespace = ? ORDER BY name LIMIT 5", arguments: [name])
            let secrets = try String.fetchAll(db, sql: "SELECT name FROM secret WHERE namespace = ? ORDER BY name LIMIT 5", arguments: [name])
            let inside = functions.map { "function \($0)" } + secrets.map { "secret \($0)" }
            guard inside.isEmpty else { return .inUse(inside) }
            try db.execute(sql: "DELETE FROM namespace WHERE name = ?", arguments: [name])
            return .removed
        }
    }
}

/// How both stores keep a namespace's labels and annotations: JSON text, with OpenFaaS's marks added.
public enum NamespaceMarks {
    /// The labels and annotations OpenFaaS requires on a namespace it manages.
    public static let openFaaS = ["openfaas": "1"]

    /// The labels and annotations to store: the caller's, with OpenFaaS's marks.
    public static func encode(_ namespace: FunctionNamespace) throws(StoreError) -> (labels: String, annotations: String) {
        do {
            let labels = (namespace.labels ?? [:]).merging(openFaaS) { _, mark in mark }
            let annotations = (namespace.annotations ?? [:]).merging(openFaaS) { _, mark in mark }
            return (String(decoding: try JSONEncoder().encode(labels), as: UTF8.self),
                    String(decoding: try JSONEncoder().encode(annotations), as: UTF8.self))
        } catch {
            throw .corruptRecord("namespace '\(namespace.name)': \(error)")
        }
    }

    public static func decode(name: String, labels: String, annotations: String) throws(StoreError) -> FunctionNamespace {
        do {
            let labels = try JSONDecoder().decode([String: String].self, from: Data(labels.utf8))
            let annotations = try JSONDecoder().decode([String: String].self, from: Data(annotations.utf8))
            return FunctionNamespace(name: name, labels: labels, annotations: annotations)
        } catch {
            throw .corruptRecord("namespace '\(name)': \(error)")
        }
    }
}

private func columns(_ row: Row) -> [String] { [row["name"], row["labels"], row["annotations"]] }
