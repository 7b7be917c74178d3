public import Foundation
import GRDB

extension SQLiteStore: NodeStore {
    public func heartbeat(_ node: NodeRecord) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO node (id, address, version, startedAt, heartbeatAt, functions, inflight) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [node.id, node.address, node.version, node.startedAt.timeIntervalSince1970, node.heartbeatAt.timeIntervalSince1970,
                                 node.functions, node.inflight])
        }
    }

    public func nodes(since: Date) async throws(StoreError) -> [NodeRecord] {
        try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT * FROM node WHERE heartbeatAt >= ? ORDER BY id", arguments: [since.timeIntervalSince1970]).map { row in
                NodeRecord(id: row["id"], address: row["address"], version: row["version"],
                           startedAt: Date(timeIntervalSince1970: row["startedAt"]), heartbeatAt: Date(timeIntervalSince1970: row["heartbeatAt"]),
                           functions: row["functions"], inflight: row["inflight"])
            }
        }
    }

    public func removeNodes(silentSince before: Date) async throws(StoreError) -> Int {
        try await writeDatabase { db in
            try db.execute(sql: "DELETE FROM node WHERE heartbeatAt < ?", arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func removeNode(_ id: String) async throws(StoreError) {
        try await writeDatabase { db in try db.execute(sql: "DELETE FROM node WHERE id = ?", arguments: [id]) }
    }
}
