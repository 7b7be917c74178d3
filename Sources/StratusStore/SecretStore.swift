import Foundation
import GRDB
public import StratusModel

/// Secrets, encrypted at rest (ChaCha20-Poly1305, key in `<data>/secret.key`, mode 0600).
public protocol SecretStore: Sendable {
    /// Stores a new secret; `false` when one with that name exists (nothing is changed).
    func createSecret(_ name: SecretName, value: [UInt8]) async throws(StoreError) -> Bool
    /// Replaces a secret's value; `false` when there is none.
    func updateSecret(_ name: SecretName, value: [UInt8]) async throws(StoreError) -> Bool
    /// Removes a secret; `false` when there was none.
    func removeSecret(_ name: SecretName) async throws(StoreError) -> Bool
    /// The names of the secrets in `namespace`, sorted.
    func secretNames(namespace: String) async throws(StoreError) -> [String]
    /// A secret's decrypted value, or `nil`.
    func secretValue(_ name: SecretName) async throws(StoreError) -> [UInt8]?
}

extension SQLiteStore: SecretStore {
    static func registerSecretMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: secrets") { db in
            try db.create(table: "secret") { t in
                t.primaryKey("name", .text)
                t.column("sealed", .blob).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
    }

    public func createSecret(_ name: SecretName, value: [UInt8]) async throws(StoreError) -> Bool {
        let sealed = try seal(value)
        return try await writeDatabase { db in
            try db.execute(sql: "INSERT OR IGNORE INTO secret (namespace, name, sealed, updatedAt) VALUES (?, ?, ?, ?)",
                           arguments: [name.namespace, name.rawValue, sealed, Date()])
            return db.changesCount > 0
        }
    }

    public func updateSecret(_ name: SecretName, value: [UInt8]) async throws(StoreError) -> Bool {
        let sealed = try seal(value)
        return try await writeDatabase { db in
            try db.execute(sql: "UPDATE secret SET sealed = ?, updatedAt = ? WHERE namespace = ? AND name = ?",
                           arguments: [sealed, Date(), name.namespace, name.rawValue])
            return db.changesCount > 0
        }
    }

    public func removeSecret(_ name: SecretName) async throws(StoreError) -> Bool {
        try await writeDatabase { db in
            try db.execute(sql: "DELETE FROM secret WHERE namespace = ? AND name = ?", arguments: [name.namespace, name.rawValue])
            return db.changesCount > 0
        }
    }

    public func secretNames(namespace: String) async throws(StoreError) -> [String] {
        try await readDatabase { db in
            try String.fetchAll(db, sql: "SELECT name FROM secret WHERE namespace = ? ORDER BY name", arguments: [namespace])
        }
    }

    public func secretValue(_ name: SecretName) async throws(StoreError) -> [UInt8]? {
        let sealed = try await readDatabase { db in try Data.fetchOne(db, sql: "SELECT sealed FROM secret WHERE namespace = ? AND name = ?",
                                                                                arguments: [name.namespace, name.rawValue]) }
        guard let sealed else { return nil }
        return try secretKey().open(sealed, what: "secret '\(name)'")
    }

    private func seal(_ value: [UInt8]) throws(StoreError) -> Data { try secretKey().seal(value) }

    /// The key file, created with 32 random bytes on first use unless it was given (`--secret-key-file`).
    private func secretKey() throws(StoreError) -> SecretKey {
        try SecretKey.load(from: keyPath, create: !keyGiven)
    }
}
