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
public protocol QueueStore: Sendable {
    /// Stores a new call (committed before this returns).
    func enqueue(_ call: AsyncCall) async throws(StoreError)
    /// Marks up to `limit` due pending calls as running (attempts + 1) and returns them, oldest due
    /// first; `available` says how many more calls of a function may start.
    func claimDue(now: Date, limit: Int, skipping full: Set<String>, available: @escaping @Sendable (String) -> Int) async throws(StoreError) -> [AsyncCall]
    /// Calls in `delivering` whose next callback attempt is due (not claimed: delivery is idempotent enough).
    func dueDeliveries(now: Date, limit: Int, excluding: Set<String>) async throws(StoreError) -> [AsyncCall]
    /// The earliest time a pending or delivering call is due, if any.
    func nextDue() async throws(StoreError) -> Date?
    /// Back to pending, to run again at `at`.
    func reschedule(_ id: String, at: Date, status: Int?, error: String) async throws(StoreError)
    /// The run finished; its result waits for delivery to the callback URL.
    func storeResult(_ id: String, _ result: AsyncResult, nextAttemptAt: Date) async throws(StoreError)
    /// A callback delivery failed; try again at `at`.
    func rescheduleDelivery(_ id: String, at: Date, error: String) async throws(StoreError)
    /// Done: the row goes.
    func finish(_ id: String) async throws(StoreError)
    /// Failed for good: kept in the dead-letter list with the reason.
    func deadLetter(_ id: String, status: Int?, reason: String) async throws(StoreError)
    func cancel(_ id: String) async throws(StoreError) -> CancelOutcome
    /// A failed call runs again from scratch; `false` when there is no failed call with that id.
    func retry(_ id: String, now: Date) async throws(StoreError) -> Bool
    /// After a crash: calls left running are pending again (at-least-once). Returns how many.
    func recoverRunning() async throws(StoreError) -> Int
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
        let headers = String(decoding: (try? JSONEncoder().encode(call.headers)) ?? Data("[]".utf8), as: UTF8.self)
        try await writeDatabase { db in
            try db.execute(
                sql: """
                    INSERT INTO asyncCall (id, function, state, method, path, query, headers, body, callbackURL, attempts,
                                           callbackAttempts, createdAt, nextAttemptAt)
                    VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)
                    """,
                arguments: [call.id, call.function.qualified, call.method, call.path, call.query, headers, Data(call.body),
                            call.callbackURL, call.createdAt.timeIntervalSince1970, call.nextAttemptAt.timeIntervalSince1970])
        }
    }

    public func claimDue(now: Date, limit: Int, skipping full: Set<String>, available: @escaping @Sendable (String) -> Int) async throws(StoreError) -> [AsyncCall] {
        guard limit > 0 else { return [] }
        // Functions already at their limit are left out of the query, so their backlog cannot fill
        // the window and hold up other functions' calls.
        let skipped = Array(full)
        let marks = skipped.isEmpty ? "" : " AND function NOT IN (" + skipped.map { _ in "?" }.joined(separator: ", ") + ")"
        return try await writeDatabase { db -> [AsyncCall] in
            var arguments = StatementArguments([now.timeIntervalSince1970])
            arguments += StatementArguments(skipped)
            arguments += [limit * 8]
            let candidates = try Row.fetchAll(db, sql: """
                SELECT id, function FROM asyncCall WHERE state = 'pending' AND nextAttemptAt <= ?\(marks)
                ORDER BY nextAttemptAt, createdAt LIMIT ?
                """, arguments: arguments)
            var taken: [String: Int] = [:]
            var ids: [String] = []
            for row in candidates where ids.count < limit {
                let function: String = row["function"]
                guard taken[function, default: 0] < available(function) else { continue }
                taken[function, default: 0] += 1
                ids.append(row["id"])
            }
            var claimed: [AsyncCall] = []
            for id in ids {
                try db.execute(sql: "UPDATE asyncCall SET state = 'running', attempts = attempts + 1 WHERE id = ?", arguments: [id])
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM asyncCall WHERE id = ?", arguments: [id]) { claimed.append(try Self.call(row)) }
            }
            return claimed
        }
    }

    public func dueDeliveries(now: Date, limit: Int, excluding: Set<String>) async throws(StoreError) -> [AsyncCall] {
        let calls = try await readDatabase { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM asyncCall WHERE state = 'delivering' AND nextAttemptAt <= ? ORDER BY nextAttemptAt LIMIT ?
                """, arguments: [now.timeIntervalSince1970, limit + excluding.count]).map(Self.call)
        }
        return calls.filter { !excluding.contains($0.id) }.prefix(limit).map { $0 }
    }

    public func nextDue() async throws(StoreError) -> Date? {
        let value = try await readDatabase { db in
            try Double.fetchOne(db, sql: "SELECT MIN(nextAttemptAt) FROM asyncCall WHERE state IN ('pending', 'delivering')")
        }
        return value.map { Date(timeIntervalSince1970: $0) }
    }

    public func reschedule(_ id: String, at: Date, status: Int?, error: String) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: "UPDATE asyncCall SET state = 'pending', nextAttemptAt = ?, lastStatus = ?, lastError = ? WHERE id = ?",
                           arguments: [at.timeIntervalSince1970, status, error, id])
        }
    }

    public func storeResult(_ id: String, _ result: AsyncResult, nextAttemptAt: Date) async throws(StoreError) {
        let encoded = (try? JSONEncoder().encode(result)) ?? Data()
        try await writeDatabase { db in
            try db.execute(sql: "UPDATE asyncCall SET state = 'delivering', result = ?, lastStatus = ?, nextAttemptAt = ? WHERE id = ?",
                           arguments: [encoded, result.status, nextAttemptAt.timeIntervalSince1970, id])
        }
    }

    public func rescheduleDelivery(_ id: String, at: Date, error: String) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: """
                UPDATE asyncCall SET callbackAttempts = callbackAttempts + 1, nextAttemptAt = ?, lastError = ? WHERE id = ?
                """, arguments: [at.timeIntervalSince1970, error, id])
        }
    }

    public func finish(_ id: String) async throws(StoreError) {
        try await writeDatabase { db in try db.execute(sql: "DELETE FROM asyncCall WHERE id = ?", arguments: [id]) }
    }

    public func deadLetter(_ id: String, status: Int?, reason: String) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: "UPDATE asyncCall SET state = 'failed', lastStatus = COALESCE(?, lastStatus), lastError = ? WHERE id = ?",
                           arguments: [status, reason, id])
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

    public func recoverRunning() async throws(StoreError) -> Int {
        try await writeDatabase { db in
            try db.execute(sql: "UPDATE asyncCall SET state = 'pending', lastError = 'the server stopped while it ran' WHERE state = 'running'")
            return db.changesCount
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
        guard let function = try? FunctionName(parsing: row["function"] as String), let state = AsyncCallState(rawValue: row["state"]) else {
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
        return call
    }
}
