public import Foundation
import GRDB
public import StratusModel

/// Function logs kept in the store, bounded per function, surviving restarts.
public protocol LogStore: Sendable {
    /// Appends lines and trims each function's log to its most recent `keep` lines.
    func appendLogs(_ lines: [LogLine], keep: Int) async throws(StoreError)
    /// Lines of `function` at or after `since`, the last `tail` of them when given, oldest first.
    func logs(function: FunctionName, since: Date?, tail: Int?) async throws(StoreError) -> [LogLine]
    /// Forgets a function's log.
    func removeLogs(function: FunctionName) async throws(StoreError)
}

extension SQLiteStore: LogStore {
    static func registerLogMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3: function logs") { db in
            try db.create(table: "logLine") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("function", .text).notNull()
                t.column("namespace", .text).notNull()
                t.column("instance", .text).notNull()
                t.column("timestamp", .double).notNull()
                t.column("text", .text).notNull()
            }
            try db.create(index: "logLineByFunction", on: "logLine", columns: ["function", "id"])
        }
    }

    public func appendLogs(_ lines: [LogLine], keep: Int) async throws(StoreError) {
        guard !lines.isEmpty else { return }
        try await writeDatabase { db in
            for line in lines {
                try db.execute(
                    sql: "INSERT INTO logLine (function, namespace, instance, timestamp, text, node) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [line.name, line.namespace, line.instance, line.timestamp.timeIntervalSince1970, line.text, line.node])
            }
            for function in Set(lines.map { [$0.name, $0.namespace] }) {
                try db.execute(sql: """
                    DELETE FROM logLine WHERE function = ? AND namespace = ? AND id <= (
                      SELECT id FROM logLine WHERE function = ? AND namespace = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """, arguments: [function[0], function[1], function[0], function[1], keep])
            }
        }
    }

    public func logs(function: FunctionName, since: Date?, tail: Int?) async throws(StoreError) -> [LogLine] {
        try await readDatabase { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM (
                  SELECT id, function, namespace, instance, timestamp, text, node FROM logLine
                  WHERE function = ? AND namespace = ? AND timestamp >= ? ORDER BY id DESC LIMIT ?)
                ORDER BY id
                """, arguments: [function.rawValue, function.namespace, since?.timeIntervalSince1970 ?? 0, tail ?? -1])
            return rows.map { row in
                LogLine(name: row["function"], namespace: row["namespace"], instance: row["instance"],
                        timestamp: Date(timeIntervalSince1970: row["timestamp"]), text: row["text"], node: row["node"])
            }
        }
    }

    public func removeLogs(function: FunctionName) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: "DELETE FROM logLine WHERE function = ? AND namespace = ?", arguments: [function.rawValue, function.namespace])
        }
    }
}
