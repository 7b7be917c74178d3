public import Foundation
import Logging
import NIOCore
import PostgresNIO
public import StratusModel
public import StratusStore

extension PostgresStore: SecretStore {
    public func createSecret(_ name: SecretName, value: [UInt8]) async throws(StoreError) -> Bool {
        let sealed = ByteBuffer(bytes: try key.seal(value))
        let logger = logger
        return try await transaction("create secret \(name)") { connection in
            let created = try await connection.query("""
                INSERT INTO secret (namespace, name, sealed, updated_at) VALUES (\(name.namespace), \(name.rawValue), \(sealed), \(Date().timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING name
                """, logger: logger).collect(String.self)
            if !created.isEmpty { try await Self.changed(connection, logger) }
            return !created.isEmpty
        }
    }

    public func updateSecret(_ name: SecretName, value: [UInt8]) async throws(StoreError) -> Bool {
        let sealed = ByteBuffer(bytes: try key.seal(value))
        let logger = logger
        return try await transaction("update secret \(name)") { connection in
            let updated = try await connection.query("""
                UPDATE secret SET sealed = \(sealed), updated_at = \(Date().timeIntervalSince1970)
                WHERE namespace = \(name.namespace) AND name = \(name.rawValue) RETURNING name
                """, logger: logger).collect(String.self)
            if !updated.isEmpty { try await Self.changed(connection, logger) }
            return !updated.isEmpty
        }
    }

    public func removeSecret(_ name: SecretName) async throws(StoreError) -> Bool {
        let logger = logger
        return try await transaction("remove secret \(name)") { connection in
            let removed = try await connection.query("""
                DELETE FROM secret WHERE namespace = \(name.namespace) AND name = \(name.rawValue) RETURNING name
                """, logger: logger).collect(String.self)
            if !removed.isEmpty { try await Self.changed(connection, logger) }
            return !removed.isEmpty
        }
    }

    public func secretNames(namespace: String) async throws(StoreError) -> [String] {
        let logger = logger
        return try await run("list secrets") { connection in
            try await connection.query("SELECT name FROM secret WHERE namespace = \(namespace) ORDER BY name", logger: logger).collect(String.self)
        }
    }

    public func secretValue(_ name: SecretName) async throws(StoreError) -> [UInt8]? {
        let logger = logger
        let sealed = try await run("read secret \(name)") { connection in
            try await connection.query("SELECT sealed FROM secret WHERE namespace = \(name.namespace) AND name = \(name.rawValue)", logger: logger)
                .collectOne(ByteBuffer.self)
        }
        guard let sealed else { return nil }
        return try key.open(Data(buffer: sealed), what: "secret '\(name)'")
    }
}

extension PostgresStore: LogStore {
    public func appendLogs(_ lines: [LogLine], keep: Int) async throws(StoreError) {
        guard !lines.isEmpty else { return }
        let logger = logger
        try await transaction("store \(lines.count) log lines") { connection in
            // One statement for the whole batch: the columns as arrays, unnested.
            try await connection.query("""
                INSERT INTO log_line (function, namespace, instance, node, ts, text)
                SELECT f, n, i, NULLIF(o, ''), t, x FROM unnest(\(lines.map(\.name)), \(lines.map(\.namespace)), \(lines.map(\.instance)),
                  \(lines.map { $0.node ?? "" }), \(lines.map { $0.timestamp.timeIntervalSince1970 }), \(lines.map(\.text))) AS u(f, n, i, o, t, x)
                """, logger: logger)
            for function in Set(lines.map { [$0.name, $0.namespace] }) {
                try await connection.query("""
                    DELETE FROM log_line WHERE function = \(function[0]) AND namespace = \(function[1]) AND id <= (
                      SELECT id FROM log_line WHERE function = \(function[0]) AND namespace = \(function[1]) ORDER BY id DESC LIMIT 1 OFFSET \(keep))
                    """, logger: logger)
            }
        }
    }

    public func logs(function: FunctionName, since: Date?, tail: Int?) async throws(StoreError) -> [LogLine] {
        let logger = logger
        return try await run("read logs of \(function)") { connection in
            let rows = try await connection.query("""
                SELECT * FROM (
                  SELECT id, instance, node, ts, text FROM log_line
                  WHERE function = \(function.rawValue) AND namespace = \(function.namespace) AND ts >= \(since?.timeIntervalSince1970 ?? 0)
                  ORDER BY id DESC LIMIT \(tail ?? Int(Int32.max))) AS recent
                ORDER BY id
                """, logger: logger)
            var lines: [LogLine] = []
            for try await (_, instance, node, ts, text) in rows.decode((Int64, String, String?, Double, String).self) {
                lines.append(LogLine(name: function.rawValue, namespace: function.namespace, instance: instance,
                                     timestamp: Date(timeIntervalSince1970: ts), text: text, node: node))
            }
            return lines
        }
    }

    public func removeLogs(function: FunctionName) async throws(StoreError) {
        let logger = logger
        try await run("remove logs of \(function)") { connection in
            try await connection.query("DELETE FROM log_line WHERE function = \(function.rawValue) AND namespace = \(function.namespace)", logger: logger)
            return ()
        }
    }
}

extension PostgresStore: SiteStore {
    public func saveSite(_ record: SiteRecord) async throws(StoreError) {
        let logger = logger
        try await transaction("save site \(record.name)") { connection in
            try await connection.query("""
                INSERT INTO site (name, digest, deployed_at) VALUES (\(record.name.rawValue), \(record.digest.description), \(record.deployedAt.timeIntervalSince1970))
                ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, deployed_at = excluded.deployed_at
                """, logger: logger)
            try await Self.changed(connection, logger)
        }
    }

    public func sites() async throws(StoreError) -> [SiteRecord] {
        let logger = logger
        let rows = try await run("list sites") { connection in
            var rows: [(String, String, Double)] = []
            for try await row in try await connection.query("SELECT name, digest, deployed_at FROM site ORDER BY name", logger: logger)
                .decode((String, String, Double).self) { rows.append(row) }
            return rows
        }
        var records: [SiteRecord] = []
        for (name, digest, deployedAt) in rows {
            guard let name = try? FunctionName(name), let digest = try? Digest(digest) else {
                throw .corruptRecord("site '\(name)' has an invalid name or digest")
            }
            records.append(SiteRecord(name: name, digest: digest, deployedAt: Date(timeIntervalSince1970: deployedAt)))
        }
        return records
    }

    public func removeSite(named name: FunctionName) async throws(StoreError) -> Bool {
        let logger = logger
        return try await transaction("remove site \(name)") { connection in
            let removed = try await connection.query("DELETE FROM site WHERE name = \(name.rawValue) RETURNING name", logger: logger).collect(String.self)
            if !removed.isEmpty { try await Self.changed(connection, logger) }
            return !removed.isEmpty
        }
    }
}

extension PostgresStore: LayerStore {
    public func publishLayer(name: String, digest: Digest, size: Int) async throws(StoreError) -> (record: LayerRecord, created: Bool) {
        let logger = logger
        let now = Date().timeIntervalSince1970
        let (version, created, createdAt) = try await transaction("publish layer \(name)") { connection -> (Int, Bool, Double) in
            // Publishers of the same layer on two nodes take turns: versions stay 1, 2, 3…
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("layer:" + name)))", logger: logger)
            var latest: (Int, String, Double)?
            for try await row in try await connection.query("""
                SELECT version, digest, created_at FROM layer WHERE name = \(name) ORDER BY version DESC LIMIT 1
                """, logger: logger).decode((Int, String, Double).self) { latest = row }
            if let latest, latest.1 == digest.description { return (latest.0, false, latest.2) }
            let next = (latest?.0 ?? 0) + 1
            try await connection.query("""
                INSERT INTO layer (name, version, digest, size, created_at) VALUES (\(name), \(next), \(digest.description), \(size), \(now))
                """, logger: logger)
            try await Self.changed(connection, logger)
            return (next, true, now)
        }
        return (LayerRecord(name: name, version: version, digest: digest, size: size, createdAt: Date(timeIntervalSince1970: createdAt)), created)
    }

    public func layers() async throws(StoreError) -> [LayerRecord] {
        try await fetchLayers("SELECT name, version, digest, size, created_at FROM layer ORDER BY name, version")
    }

    public func layer(name: String, version: Int?) async throws(StoreError) -> LayerRecord? {
        if let version {
            return try await fetchLayers("SELECT name, version, digest, size, created_at FROM layer WHERE name = \(name) AND version = \(version)").first
        }
        return try await fetchLayers("SELECT name, version, digest, size, created_at FROM layer WHERE name = \(name) ORDER BY version DESC LIMIT 1").first
    }

    public func removeLayer(name: String, version: Int) async throws(StoreError) -> Bool {
        let logger = logger
        return try await transaction("remove layer \(name)") { connection in
            let removed = try await connection.query("DELETE FROM layer WHERE name = \(name) AND version = \(version) RETURNING name", logger: logger)
                .collect(String.self)
            if !removed.isEmpty { try await Self.changed(connection, logger) }
            return !removed.isEmpty
        }
    }

    private func fetchLayers(_ query: PostgresQuery) async throws(StoreError) -> [LayerRecord] {
        let logger = logger
        let rows = try await run("list layers") { connection in
            var rows: [(String, Int, String, Int, Double)] = []
            for try await row in try await connection.query(query, logger: logger).decode((String, Int, String, Int, Double).self) { rows.append(row) }
            return rows
        }
        var records: [LayerRecord] = []
        for (name, version, digest, size, createdAt) in rows {
            guard let digest = try? Digest(digest) else { throw .corruptRecord("layer '\(name)' version \(version) has an invalid digest") }
            records.append(LayerRecord(name: name, version: version, digest: digest, size: size, createdAt: Date(timeIntervalSince1970: createdAt)))
        }
        return records
    }
}

extension PostgresStore: NamespaceStore {
    public func namespaces() async throws(StoreError) -> [FunctionNamespace] {
        try await fetchNamespaces("SELECT name, labels, annotations FROM namespace ORDER BY name")
    }

    public func namespace(named name: String) async throws(StoreError) -> FunctionNamespace? {
        try await fetchNamespaces("SELECT name, labels, annotations FROM namespace WHERE name = \(name)").first
    }

    public func createNamespace(_ namespace: FunctionNamespace) async throws(StoreError) -> Bool {
        let (labels, annotations) = try NamespaceMarks.encode(namespace)
        let logger = logger
        return try await transaction("create namespace \(namespace.name)") { connection in
            let created = try await connection.query("""
                INSERT INTO namespace (name, labels, annotations, created_at) VALUES (\(namespace.name), \(labels), \(annotations), \(Date().timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING name
                """, logger: logger).collect(String.self)
            if !created.isEmpty { try await Self.changed(connection, logger) }
            return !created.isEmpty
        }
    }

    public func updateNamespace(_ namespace: FunctionNamespace) async throws(StoreError) -> Bool {
        let (labels, annotations) = try NamespaceMarks.encode(namespace)
        let logger = logger
        return try await transaction("update namespace \(namespace.name)") { connection in
            let updated = try await connection.query("""
                UPDATE namespace SET labels = \(labels), annotations = \(annotations) WHERE name = \(namespace.name) RETURNING name
                """, logger: logger).collect(String.self)
            if !updated.isEmpty { try await Self.changed(connection, logger) }
            return !updated.isEmpty
        }
    }

    public func removeNamespace(named name: String) async throws(StoreError) -> NamespaceRemoval {
        let logger = logger
        return try await transaction("remove namespace \(name)") { connection -> NamespaceRemoval in
            // Locked, checked and removed in one transaction: a deploy into it cannot slip in between.
            guard try await connection.query("SELECT name FROM namespace WHERE name = \(name) FOR UPDATE", logger: logger).collectOne(String.self) != nil
            else { return .notFound }
            let functions = try await connection.query("SELECT name FROM function WHERE namespace = \(name) ORDER BY name LIMIT 5", logger: logger)
                .collect(String.self)
            let secrets = try await connection.query("SELECT name FROM secret WHERE namespace = \(name) ORDER BY name LIMIT 5", logger: logger)
                .collect(String.self)
            let inside = functions.map { "function \($0)" } + secrets.map { "secret \($0)" }
            guard inside.isEmpty else { return .inUse(inside) }
            try await connection.query("DELETE FROM namespace WHERE name = \(name)", logger: logger)
            try await Self.changed(connection, logger)
            return .removed
        }
    }

    private func fetchNamespaces(_ query: PostgresQuery) async throws(StoreError) -> [FunctionNamespace] {
        let logger = logger
        let rows = try await run("read namespaces") { connection in
            var rows: [(String, String, String)] = []
            for try await row in try await connection.query(query, logger: logger).decode((String, String, String).self) { rows.append(row) }
            return rows
        }
        var namespaces: [FunctionNamespace] = []
        for (name, labels, annotations) in rows { namespaces.append(try NamespaceMarks.decode(name: name, labels: labels, annotations: annotations)) }
        return namespaces
    }
}

extension PostgresStore: NodeStore {
    public func heartbeat(_ node: NodeRecord) async throws(StoreError) {
        let logger = logger
        try await run("heartbeat") { connection in
            try await connection.query("""
                INSERT INTO node (id, address, version, started_at, heartbeat_at, functions, inflight)
                VALUES (\(node.id), \(node.address), \(node.version), \(node.startedAt.timeIntervalSince1970), \(node.heartbeatAt.timeIntervalSince1970),
                        \(node.functions), \(node.inflight))
                ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version, started_at = excluded.started_at,
                  heartbeat_at = excluded.heartbeat_at, functions = excluded.functions, inflight = excluded.inflight
                """, logger: logger)
            return ()
        }
    }

    public func nodes(since: Date) async throws(StoreError) -> [NodeRecord] {
        let logger = logger
        return try await run("list nodes") { connection in
            var nodes: [NodeRecord] = []
            let rows = try await connection.query("""
                SELECT id, address, version, started_at, heartbeat_at, functions, inflight FROM node
                WHERE heartbeat_at >= \(since.timeIntervalSince1970) ORDER BY id
                """, logger: logger)
            for try await (id, address, version, started, heartbeat, functions, inflight) in rows.decode((String, String, String, Double, Double, Int, Int).self) {
                nodes.append(NodeRecord(id: id, address: address, version: version, startedAt: Date(timeIntervalSince1970: started),
                                        heartbeatAt: Date(timeIntervalSince1970: heartbeat), functions: functions, inflight: inflight))
            }
            return nodes
        }
    }

    public func removeNodes(silentSince before: Date) async throws(StoreError) -> Int {
        let logger = logger
        return try await run("age out nodes") { connection in
            try await connection.query("DELETE FROM node WHERE heartbeat_at < \(before.timeIntervalSince1970) RETURNING id", logger: logger)
                .collect(String.self).count
        }
    }

    public func removeNode(_ id: String) async throws(StoreError) {
        let logger = logger
        try await run("remove node") { connection in
            try await connection.query("DELETE FROM node WHERE id = \(id)", logger: logger)
            return ()
        }
    }
}
