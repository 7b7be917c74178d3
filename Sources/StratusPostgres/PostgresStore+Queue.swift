public import Foundation
import Logging
import NIOCore
import PostgresNIO
public import StratusModel
public import StratusStore

extension PostgresStore: QueueStore {
    static let callColumns = """
        id, function, state, method, path, query, headers, body, callback_url, attempts, callback_attempts, created_at, next_attempt_at,
        last_status, last_error, result, claim
        """

    public func enqueue(_ call: AsyncCall) async throws(StoreError) {
        let headers = String(decoding: (try? JSONEncoder().encode(call.headers)) ?? Data("[]".utf8), as: UTF8.self)
        let logger = logger
        try await transaction("enqueue \(call.id)") { connection in
            try await connection.query("""
                INSERT INTO async_call (id, function, state, method, path, query, headers, body, callback_url, created_at, next_attempt_at)
                VALUES (\(call.id), \(call.function.qualified), 'pending', \(call.method), \(call.path), \(call.query), \(headers),
                        \(ByteBuffer(bytes: call.body)), \(call.callbackURL), \(call.createdAt.timeIntervalSince1970), \(call.nextAttemptAt.timeIntervalSince1970))
                """, logger: logger)
            // Wakes the idle workers of every node (sent when the call is committed).
            try await connection.query("SELECT pg_notify(\(Self.channel), 'queued')", logger: logger)
        }
    }

    /// Claims run one at a time across the cluster (a transaction-scoped advisory lock), so that the
    /// per-function limits hold over every node's running calls; the rows are taken with
    /// `FOR UPDATE SKIP LOCKED`, so a claim never waits on a row another transaction holds.
    public func claimDue(now: Date, limit: Int, node: String, leaseUntil: Date, skipping full: Set<String>,
                         limits: @escaping @Sendable (String) -> Int) async throws(StoreError) -> [AsyncCall] {
        guard limit > 0 else { return [] }
        let logger = logger
        let skipped = Array(full)
        let now = now.timeIntervalSince1970
        return try await transaction("claim async calls") { connection -> [AsyncCall] in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.claimLock))", logger: logger)
            var candidates: [(String, String)] = []
            for try await row in try await connection.query("""
                SELECT id, function FROM async_call
                WHERE ((state = 'pending' AND next_attempt_at <= \(now)) OR (state = 'running' AND lease_until < \(now)))
                  AND NOT (function = ANY(\(skipped)))
                ORDER BY next_attempt_at, created_at LIMIT \(limit * 8) FOR UPDATE SKIP LOCKED
                """, logger: logger).decode((String, String).self) { candidates.append(row) }
            guard !candidates.isEmpty else { return [] }
            var running: [String: Int] = [:]
            for try await (function, count) in try await connection.query("""
                SELECT function, count(*)::bigint FROM async_call WHERE state = 'running' AND lease_until >= \(now) GROUP BY function
                """, logger: logger).decode((String, Int).self) { running[function] = count }
            var ids: [String] = []
            for (id, function) in candidates where ids.count < limit {
                guard running[function, default: 0] < limits(function) else { continue }
                running[function, default: 0] += 1
                ids.append(id)
            }
            guard !ids.isEmpty else { return [] }
            let rows = try await connection.query("""
                UPDATE async_call SET state = 'running', attempts = attempts + 1, claim = claim + 1, claimed_by = \(node),
                  lease_until = \(leaseUntil.timeIntervalSince1970)
                WHERE id = ANY(\(ids)) RETURNING \(unescaped: Self.callColumns)
                """, logger: logger).rows()
            return try rows.map(Self.call).sorted { ($0.nextAttemptAt, $0.createdAt) < ($1.nextAttemptAt, $1.createdAt) }
        }
    }

    public func claimDeliveries(now: Date, limit: Int, node: String, leaseUntil: Date) async throws(StoreError) -> [AsyncCall] {
        guard limit > 0 else { return [] }
        let logger = logger
        let now = now.timeIntervalSince1970
        return try await transaction("claim deliveries") { connection -> [AsyncCall] in
            let rows = try await connection.query("""
                UPDATE async_call SET claim = claim + 1, claimed_by = \(node), lease_until = \(leaseUntil.timeIntervalSince1970)
                WHERE id IN (SELECT id FROM async_call WHERE state = 'delivering' AND next_attempt_at <= \(now)
                               AND (lease_until IS NULL OR lease_until < \(now)) ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.callColumns)
                """, logger: logger).rows()
            return try rows.map(Self.call)
        }
    }

    public func extendLease(_ id: String, claim: Int, until: Date) async throws(StoreError) -> Bool {
        try await fenced("UPDATE async_call SET lease_until = \(until.timeIntervalSince1970)", id: id, claim: claim)
    }

    public func nextDue() async throws(StoreError) -> Date? {
        let logger = logger
        let value = try await run("read the queue") { connection in
            try await connection.query("""
                SELECT least(
                  (SELECT min(next_attempt_at) FROM async_call WHERE state = 'pending' OR (state = 'delivering' AND lease_until IS NULL)),
                  (SELECT min(lease_until) FROM async_call WHERE state IN ('running', 'delivering') AND lease_until IS NOT NULL))
                """, logger: logger).collectOne(Double?.self)
        }
        return (value ?? nil).map { Date(timeIntervalSince1970: $0) }
    }

    public func reschedule(_ id: String, claim: Int, at: Date, status: Int?, error: String) async throws(StoreError) -> Bool {
        try await fenced("""
            UPDATE async_call SET state = 'pending', next_attempt_at = \(at.timeIntervalSince1970), last_status = \(status), last_error = \(error),
              claimed_by = NULL, lease_until = NULL
            """, id: id, claim: claim)
    }

    public func storeResult(_ id: String, claim: Int, _ result: AsyncResult, nextAttemptAt: Date) async throws(StoreError) -> Bool {
        let encoded = ByteBuffer(bytes: (try? JSONEncoder().encode(result)) ?? Data())
        return try await fenced("""
            UPDATE async_call SET state = 'delivering', result = \(encoded), last_status = \(result.status), next_attempt_at = \(nextAttemptAt.timeIntervalSince1970)
            """, id: id, claim: claim)
    }

    public func rescheduleDelivery(_ id: String, claim: Int, at: Date, error: String) async throws(StoreError) -> Bool {
        try await fenced("""
            UPDATE async_call SET callback_attempts = callback_attempts + 1, next_attempt_at = \(at.timeIntervalSince1970), last_error = \(error),
              claimed_by = NULL, lease_until = NULL
            """, id: id, claim: claim)
    }

    public func finish(_ id: String, claim: Int) async throws(StoreError) -> Bool {
        try await fenced("DELETE FROM async_call", id: id, claim: claim)
    }

    public func deadLetter(_ id: String, claim: Int, status: Int?, reason: String) async throws(StoreError) -> Bool {
        try await fenced("""
            UPDATE async_call SET state = 'failed', last_status = COALESCE(\(status), last_status), last_error = \(reason), claimed_by = NULL, lease_until = NULL
            """, id: id, claim: claim)
    }

    public func cancel(_ id: String) async throws(StoreError) -> CancelOutcome {
        let logger = logger
        return try await transaction("cancel \(id)") { connection -> CancelOutcome in
            guard let state = try await connection.query("SELECT state FROM async_call WHERE id = \(id) FOR UPDATE", logger: logger).collectOne(String.self)
            else { return .notFound }
            if state == AsyncCallState.running.rawValue { return .running }
            try await connection.query("DELETE FROM async_call WHERE id = \(id)", logger: logger)
            return .cancelled
        }
    }

    public func retry(_ id: String, now: Date) async throws(StoreError) -> Bool {
        let logger = logger
        return try await transaction("retry \(id)") { connection in
            let updated = try await connection.query("""
                UPDATE async_call SET state = 'pending', attempts = 0, callback_attempts = 0, result = NULL, next_attempt_at = \(now.timeIntervalSince1970)
                WHERE id = \(id) AND state = 'failed' RETURNING id
                """, logger: logger).collect(String.self)
            if !updated.isEmpty { try await connection.query("SELECT pg_notify(\(Self.channel), 'queued')", logger: logger) }
            return !updated.isEmpty
        }
    }

    /// Only this node's own leftovers: other nodes' running calls keep their leases (they may be alive).
    public func recoverRunning(node: String) async throws(StoreError) -> Int {
        let logger = logger
        return try await transaction("recover running calls") { connection in
            let count = try await connection.query("""
                UPDATE async_call SET state = 'pending', last_error = 'the node stopped while it ran', claimed_by = NULL, lease_until = NULL
                WHERE state = 'running' AND claimed_by = \(node) RETURNING id
                """, logger: logger).collect(String.self).count
            try await connection.query("""
                UPDATE async_call SET claimed_by = NULL, lease_until = NULL WHERE state = 'delivering' AND claimed_by = \(node)
                """, logger: logger)
            return count
        }
    }

    public func queueCounts() async throws(StoreError) -> [AsyncCallState: Int] {
        let logger = logger
        let rows = try await run("count the queue") { connection in
            var rows: [(String, Int)] = []
            for try await row in try await connection.query("SELECT state, count(*)::bigint FROM async_call GROUP BY state", logger: logger)
                .decode((String, Int).self) { rows.append(row) }
            return rows
        }
        var counts: [AsyncCallState: Int] = [:]
        for (state, count) in rows { if let state = AsyncCallState(rawValue: state) { counts[state] = count } }
        return counts
    }

    public func queuedCalls(states: [AsyncCallState], limit: Int) async throws(StoreError) -> [AsyncCall] {
        let logger = logger
        let names = states.map(\.rawValue)
        let rows = try await run("list the queue") { connection in
            if names.isEmpty {
                return try await connection.query("SELECT \(unescaped: Self.callColumns) FROM async_call ORDER BY created_at LIMIT \(limit)", logger: logger).rows()
            }
            return try await connection.query("""
                SELECT \(unescaped: Self.callColumns) FROM async_call WHERE state = ANY(\(names)) ORDER BY created_at LIMIT \(limit)
                """, logger: logger).rows()
        }
        return try rows.map(Self.call)
    }

    public func queuedCall(_ id: String) async throws(StoreError) -> AsyncCall? {
        let logger = logger
        let rows = try await run("read \(id)") { connection in
            try await connection.query("SELECT \(unescaped: Self.callColumns) FROM async_call WHERE id = \(id)", logger: logger).rows()
        }
        return try rows.first.map(Self.call)
    }

    /// An arbitrary number the claim transactions of every node lock with.
    static let claimLock: Int64 = 0x5354_5241_5455_54

    /// `sql … WHERE id = … AND claim = …`: a change only the current claim may make.
    private func fenced(_ sql: PostgresQuery, id: String, claim: Int) async throws(StoreError) -> Bool {
        let logger = logger
        return try await run("record the outcome of \(id)") { connection in
            var query = sql
            query.sql += " WHERE id = $\(query.binds.count + 1) AND claim = $\(query.binds.count + 2) RETURNING id"
            query.binds.append(id, context: .default)
            query.binds.append(Int64(claim), context: .default)
            return try await connection.query(query, logger: logger).collect(String.self).isEmpty == false
        }
    }

    private static func call(_ row: PostgresRandomAccessRow) throws(StoreError) -> AsyncCall {
        do {
            let id = try row["id"].decode(String.self)
            guard let function = try? FunctionName(address: try row["function"].decode(String.self)),
                let state = AsyncCallState(rawValue: try row["state"].decode(String.self))
            else { throw StoreError.corruptRecord("async call \(id) has an invalid function or state") }
            let headers = (try? JSONDecoder().decode([[String]].self, from: Data(try row["headers"].decode(String.self).utf8))) ?? []
            var call = AsyncCall(id: id, function: function, method: try row["method"].decode(String.self), path: try row["path"].decode(String.self),
                                 query: try row["query"].decode(String.self), headers: headers,
                                 body: Array(try row["body"].decode(ByteBuffer.self).readableBytesView),
                                 callbackURL: try row["callback_url"].decode(String?.self),
                                 createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
            call.state = state
            call.attempts = try row["attempts"].decode(Int.self)
            call.callbackAttempts = try row["callback_attempts"].decode(Int.self)
            call.nextAttemptAt = Date(timeIntervalSince1970: try row["next_attempt_at"].decode(Double.self))
            call.lastStatus = try row["last_status"].decode(Int?.self)
            call.lastError = try row["last_error"].decode(String?.self)
            if let data = try row["result"].decode(ByteBuffer?.self) { call.result = try? JSONDecoder().decode(AsyncResult.self, from: Data(buffer: data)) }
            call.claim = Int(try row["claim"].decode(Int64.self))
            return call
        } catch let error as StoreError {
            throw error
        } catch {
            throw .corruptRecord("async call: \(error)")
        }
    }
}
