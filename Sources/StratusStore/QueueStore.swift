public import Foundation
import GRDB
public import StratusModel

/// What cancelling a queued call did.
public enum CancelOutcome: Sendable, Equatable {
    case cancelled
    /// It is running now; it cannot be stopped half-way.
    case running
    case notFound
}

/// The async-call queue: every accepted call is a row until it is done, so a crash loses nothing.
/// Workers (on any node of a cluster) claim calls under a lease they extend while the call runs; a
/// call whose lease runs out is claimed again elsewhere (at-least-once). Every claim bumps the
/// call's `claim` fence, and an outcome is recorded only by the claim that holds the call now.
public protocol QueueStore: Sendable {
    /// Stores a new call (committed before this returns).
    func enqueue(_ call: AsyncCall) async throws(StoreError)
    /// Claims up to `limit` calls for `node` until `leaseUntil`, oldest due first: pending calls that
    /// are due, and running calls whose lease ran out (their worker is gone). Each gets attempts + 1
    /// and a new claim. `limits` gives a function's async concurrency, counted over the running calls
    /// of every node; functions in `full` are left out of the search.
    func claimDue(now: Date, limit: Int, node: String, leaseUntil: Date, skipping full: Set<String>,
                  limits: @escaping @Sendable (String) -> Int) async throws(StoreError) -> [AsyncCall]
    /// Claims up to `limit` results due for delivery to their callback (not leased, or lease run out).
    func claimDeliveries(now: Date, limit: Int, node: String, leaseUntil: Date) async throws(StoreError) -> [AsyncCall]
    /// Extends the lease while the claim holds; `false` when the call was claimed by someone else since.
    func extendLease(_ id: String, claim: Int, until: Date) async throws(StoreError) -> Bool
    /// The earliest time a call is due or a lease runs out, if any.
    func nextDue() async throws(StoreError) -> Date?
    /// Back to pending, to run again at `at`. Every outcome below returns `false` (changing nothing)
    /// when `claim` no longer holds the call.
    func reschedule(_ id: String, claim: Int, at: Date, status: Int?, error: String) async throws(StoreError) -> Bool
    /// The run finished; its result waits for delivery to the callback URL (the claim goes on to deliver it).
    func storeResult(_ id: String, claim: Int, _ result: AsyncResult, nextAttemptAt: Date) async throws(StoreError) -> Bool
    /// A callback delivery failed; try again at `at` (the lease is let go).
    func rescheduleDelivery(_ id: String, claim: Int, at: Date, error: String) async throws(StoreError) -> Bool
    /// Done: the row goes.
    func finish(_ id: String, claim: Int) async throws(StoreError) -> Bool
    /// Failed for good: kept in the dead-letter list with the reason.
    func deadLetter(_ id: String, claim: Int, status: Int?, reason: String) async throws(StoreError) -> Bool
    func cancel(_ id: String) async throws(StoreError) -> CancelOutcome
    /// A failed call runs again from scratch; `false` when there is no failed call with that id.
    func retry(_ id: String, now: Date) async throws(StoreError) -> Bool
    /// After a restart: the calls `node` left running or delivering are due again (at-least-once).
    /// The embedded store has one node: every such call. Returns how many.
    func recoverRunning(node: String) async throws(StoreError) -> Int
    func queueCounts() async throws(StoreError) -> [AsyncCallState: Int]
    /// Calls in `states` (all when empty), oldest first.
    func queuedCalls(states: [AsyncCallState], limit: Int) async throws(StoreError) -> [AsyncCall]
    func queuedCall(_ id: String) async throws(StoreError) -> AsyncCall?
}

extension SQLiteStore: QueueStore {
    static func registerQueueMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6: async call queue") { db in
            try db.create(table: "asyncCall") { t in
                t.primaryKey("id", .text)
                t.column("function", .text).notNull()
                t.column("state", .text).notNull()
                t.column("method", .text).notNull()
                t.column("path", .text).notNull()
                t.column("query", .text).notNull()
                t.column("headers", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("callbackURL", .text)
                t.column("attempts", .integer).notNull()
                t.column("callbackAttempts", .integer).notNull()
                t.column("createdAt", .double).notNull()
                t.column("nextAttemptAt", .double).notNull()
                t.column("lastStatus", .integer)
                t.column("lastError", .text)
                t.column("result", .blob)
            }
            try db.create(index: "asyncCallDue", on: "asyncCall", columns: ["state", "nextAttemptAt"])
        }
    }

    public func enqueue(_ call: AsyncCall) async throws(StoreError) {
        let row = Self.callRow(call)
        try await writeDatabase { db in try Self.insertCall(row, db: db, ignoringDuplicates: false) }
    }

    /// A new call's column values, ready to insert.
    static func callRow(_ call: AsyncCall) -> StatementArguments {
        let headers = String(decoding: (try? JSONEncoder().encode(call.headers)) ?? Data("[]".utf8), as: UTF8.self)
        return [call.id, call.function.qualified, call.method, call.path, call.query, headers, Data(call.body),
                call.callbackURL, call.createdAt.timeIntervalSince1970, call.nextAttemptAt.timeIntervalSince1970]
    }

    static func insertCall(_ row: StatementArguments, db: Database, ignoringDuplicates: Bool) throws {
        try db.execute(
            sql: """
                INSERT \(ignoringDuplicates ? "OR IGNORE " : "")INTO asyncCall (id, function, state, method, path, query, headers, body, callbackURL, attempts,
                                       callbackAttempts, createdAt, nextAttemptAt)
                VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
                """,
            arguments: row)
    }

    public func claimDue(now: Date, limit: Int, node: String, leaseUntil: Date, skipping full: Set<String>,
                         limits: @escaping @Sendable (String) -> Int) async throws(StoreError) -> [AsyncCall] {
        guard limit > 0 else { return [] }
        // Functions already at their limit are left out of the query, so their backlog cannot fill
        // the window and hold up other functions' calls.
        let skipped = Array(full)
        let marks = skipped.isEmpty ? "" : " AND function NOT IN (" + skipped.map { _ in "?" }.joined(separator: ", ") + ")"
        let now = now.timeIntervalSince1970
        return try await writeDatabase { db -> [AsyncCall] in
            var arguments = StatementArguments([now, now])
            arguments += StatementArguments(skipped)
            arguments += [limit * 8]
            let candidates = try Row.fetchAll(db, sql: """
                SELECT id, function FROM asyncCall
                WHERE ((state = 'pending' AND nextAttemptAt <= ?) OR (state = 'running' AND leaseUntil < ?))\(marks)
                ORDER BY nextAttemptAt, createdAt LIMIT ?
                """, arguments: arguments)
            var running: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT function, COUNT(*) AS n FROM asyncCall WHERE state = 'running' AND leaseUntil >= ? GROUP BY function",
                                        arguments: [now]) {
                running[row["function"]] = row["n"]
            }
            var ids: [String] = []
            for row in candidates where ids.count < limit {
                let function: String = row["function"]
                guard running[function, default: 0] < limits(function) else { continue }
                running[function, default: 0] += 1
                ids.append(row["id"])
            }
            var claimed: [AsyncCall] = []
            for id in ids {
                try db.execute(sql: """
                    UPDATE asyncCall SET state = 'running', attempts = attempts + 1, claim = claim + 1, claimedBy = ?, leaseUntil = ? WHERE id = ?
                    """, arguments: [node, leaseUntil.timeIntervalSince1970, id])
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM asyncCall WHERE id = ?", arguments: [id]) { claimed.append(try Self.call(row)) }
            }
            return claimed
        }
    }

    public func claimDeliveries(now: Date, limit: Int, node: String, leaseUntil: Date) async throws(StoreError) -> [AsyncCall] {
        guard limit > 0 else { return [] }
        return try await writeDatabase { db -> [AsyncCall] in
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM asyncCall WHERE state = 'delivering' AND nextAttemptAt <= ? AND (leaseUntil IS NULL OR leaseUntil < ?)
                ORDER BY nextAttemptAt LIMIT ?
                """, arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, limit])
            var claimed: [AsyncCall] = []
            for id in ids {
                try db.execute(sql: "UPDATE asyncCall SET claim = claim + 1, claimedBy = ?, leaseUntil = ? WHERE id = ?",
                               arguments: [node, leaseUntil.timeIntervalSince1970, id])
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM asyncCall WHERE id = ?", arguments: [id]) { claimed.append(try Self.call(row)) }
            }
            return claimed
        }
    }

    public func extendLease(_ id: String, claim: Int, until: Date) async throws(StoreError) -> Bool {
        try await fenced("UPDATE asyncCall SET leaseUntil = ?", [until.timeIntervalSince1970], id: id, claim: claim)
    }

    public func nextDue() async throws(StoreError) -> Date? {
        let value = try await readDatabase { db in
            try Double.fetchOne(db, sql: """
                SELECT MIN(t) FROM (
                  SELECT MIN(nextAttemptAt) AS t FROM asyncCall WHERE state = 'pending' OR (state = 'delivering' AND leaseUntil IS NULL)
                  UNION ALL SELECT MIN(leaseUntil) FROM asyncCall WHERE state IN ('running', 'delivering') AND leaseUntil IS NOT NULL)
                """)
        }
        return value.map { Date(timeIntervalSince1970: $0) }
    }

    public func reschedule(_ id: String, claim: Int, at: Date, status: Int?, error: String) async throws(StoreError) -> Bool {
        try await fenced("UPDATE asyncCall SET state = 'pending', nextAttemptAt = ?, lastStatus = ?, lastError = ?, claimedBy = NULL, leaseUntil = NULL",
                         [at.timeIntervalSince1970, status, error], id: id, claim: claim)
    }

    public func storeResult(_ id: String, claim: Int, _ result: AsyncResult, nextAttemptAt: Date) async throws(StoreError) -> Bool {
        let encoded = (try? JSONEncoder().encode(result)) ?? Data()
        return try await fenced("UPDATE asyncCall SET state = 'delivering', result = ?, lastStatus = ?, nextAttemptAt = ?",
                                [encoded, result.status, nextAttemptAt.timeIntervalSince1970], id: id, claim: claim)
    }

    public func rescheduleDelivery(_ id: String, claim: Int, at: Date, error: String) async throws(StoreError) -> Bool {
        try await fenced("UPDATE asyncCall SET callbackAttempts = callbackAttempts + 1, nextAttemptAt = ?, lastError = ?, claimedBy = NULL, leaseUntil = NULL",
                         [at.timeIntervalSince1970, error], id: id, claim: claim)
    }

    public func finish(_ id: String, claim: Int) async throws(StoreError) -> Bool {
        try await fenced("DELETE FROM asyncCall", [], id: id, claim: claim)
    }

    public func deadLetter(_ id: String, claim: Int, status: Int?, reason: String) async throws(StoreError) -> Bool {
        try await fenced("UPDATE asyncCall SET state = 'failed', lastStatus = COALESCE(?, lastStatus), lastError = ?, claimedBy = NULL, leaseUntil = NULL",
                         [status, reason], id: id, claim: claim)
    }

    /// Runs `sql … WHERE id = ? AND claim = ?`: a change only the current claim may make.
    private func fenced(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?], id: String, claim: Int) async throws(StoreError) -> Bool {
        let all = StatementArguments(arguments + [id, claim])
        return try await writeDatabase { db in
            try db.execute(sql: sql + " WHERE id = ? AND claim = ?", arguments: all)
            return db.changesCount > 0
        }
    }

    public func cancel(_ id: String) async throws(StoreError) -> CancelOutcome {
        try await writeDatabase { db in
            guard let state = try String.fetchOne(db, sql: "SELECT state FROM asyncCall WHERE id = ?", arguments: [id]) else { return .notFound }
            if state == AsyncCallState.running.rawValue { return .running }
            try db.execute(sql: "DELETE FROM asyncCall WHERE id = ?", arguments: [id])
            return .cancelled
        }
    }

    public func retry(_ id: String, now: Date) async throws(StoreError) -> Bool {
        try await writeDatabase { db in
            try db.execute(sql: """
                UPDATE asyncCall SET state = 'pending', attempts = 0, callbackAttempts = 0, result = NULL, nextAttemptAt = ?
                WHERE id = ? AND state = 'failed'
                """, arguments: [now.timeIntervalSince1970, id])
            return db.changesCount > 0
        }
    }

    public func recoverRunning(node: String) async throws(StoreError) -> Int {
        try await writeDatabase { db in
            try db.execute(sql: """
                UPDATE asyncCall SET state = 'pending', lastError = 'the server stopped while it ran', claimedBy = NULL, leaseUntil = NULL
                WHERE state = 'running'
                """)
            let count = db.changesCount
            try db.execute(sql: "UPDATE asyncCall SET claimedBy = NULL, leaseUntil = NULL WHERE state = 'delivering'")
            return count
        }
    }

    public func queueCounts() async throws(StoreError) -> [AsyncCallState: Int] {
        let rows = try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM asyncCall GROUP BY state").map { ($0["state"] as String, $0["n"] as Int) }
        }
        var counts: [AsyncCallState: Int] = [:]
        for (state, count) in rows { if let state = AsyncCallState(rawValue: state) { counts[state] = count } }
        return counts
    }

    public func queuedCalls(states: [AsyncCallState], limit: Int) async throws(StoreError) -> [AsyncCall] {
        let names = states.map(\.rawValue)
        return try await readDatabase { db in
            if names.isEmpty {
                return try Row.fetchAll(db, sql: "SELECT * FROM asyncCall ORDER BY createdAt LIMIT ?", arguments: [limit]).map(Self.call)
            }
            let marks = names.map { _ in "?" }.joined(separator: ", ")
            return try Row.fetchAll(db, sql: "SELECT * FROM asyncCall WHERE state IN (\(marks)) ORDER BY createdAt LIMIT ?",
                                    arguments: StatementArguments(names) + [limit]).map(Self.call)
        }
    }

    public func queuedCall(_ id: String) async throws(StoreError) -> AsyncCall? {
        try await readDatabase { db in try Row.fetchOne(db, sql: "SELECT * FROM asyncCall WHERE id = ?", arguments: [id]).map(Self.call) }
    }

    private static func call(_ row: Row) throws(StoreError) -> AsyncCall {
        let id: String = row["id"]
        guard let function = try? FunctionName(address: row["function"] as String), let state = AsyncCallState(rawValue: row["state"]) else {
            throw .corruptRecord("async call \(id) has an invalid function or state")
        }
        let headers = (try? JSONDecoder().decode([[String]].self, from: Data((row["headers"] as String).utf8))) ?? []
        var call = AsyncCall(id: id, function: function, method: row["method"], path: row["path"], query: row["query"], headers: headers,
                             body: [UInt8](row["body"] as Data), callbackURL: row["callbackURL"],
                             createdAt: Date(timeIntervalSince1970: row["createdAt"]))
        call.state = state
        call.attempts = row["attempts"]
        call.callbackAttempts = row["callbackAttempts"]
        call.nextAttemptAt = Date(timeIntervalSince1970: row["nextAttemptAt"])
        call.lastStatus = row["lastStatus"]
        call.lastError = row["lastError"]
        if let data = row["result"] as Data? { call.result = try? JSONDecoder().decode(AsyncResult.self, from: data) }
        call.claim = row["claim"]
        return call
    }
}
