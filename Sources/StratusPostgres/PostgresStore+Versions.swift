public import Foundation
import Logging
import NIOCore
import PostgresNIO
public import StratusModel
public import StratusStore

/// Versions, aliases and timer triggers in the cluster's database. Publishing and alias changes count
/// as changes (every node reconciles at once); a timer's claimed tick is a compare-and-set on its row,
/// committed with the calls it enqueues, so one node wins each tick and a node that dies loses none.
extension PostgresStore: VersionStore, TimerStore {
    public func publishVersion(of function: FunctionName, description: String, now: Date) async throws(StoreError) -> FunctionVersion? {
        let key = function.base.qualified
        let logger = logger
        return try await transaction("publish a version of \(key)") { connection -> FunctionVersion? in
            // The function's row is locked: two publishes of one function take turns.
            guard let json = try await connection.query("SELECT spec FROM function WHERE name = \(key) FOR UPDATE", logger: logger)
                .collectOne(String.self) else { return nil }
            let latest = try SpecCoding.decode(json)
            let last = try await connection.query("SELECT last FROM function_version_seq WHERE function = \(key)", logger: logger).collectOne(Int.self) ?? 0
            let number = last + 1
            let stored = try SpecCoding.encode(try FunctionVersion.freeze(latest, as: number, now: now))
            try await connection.query("""
                INSERT INTO function_version_seq (function, last) VALUES (\(key), \(number)) ON CONFLICT (function) DO UPDATE SET last = excluded.last
                """, logger: logger)
            try await connection.query("""
                INSERT INTO function_version (function, version, description, spec, created_at)
                VALUES (\(key), \(number), \(description), \(stored), \(now.timeIntervalSince1970))
                """, logger: logger)
            try await Self.changed(connection, logger)
            return FunctionVersion(function: function.base, version: number, description: description, spec: try SpecCoding.decode(stored), createdAt: now)
        }
    }

    public func versions(of function: FunctionName) async throws(StoreError) -> [FunctionVersion] {
        try await allVersions().filter { $0.function == function.base }
    }

    public func allVersions() async throws(StoreError) -> [FunctionVersion] {
        let logger = logger
        let rows = try await run("list versions") { connection in
            try await connection.query("SELECT function, version, description, spec, created_at FROM function_version ORDER BY function, version",
                                       logger: logger).tuples((String, Int, String, String, Double).self)
        }
        return try VersionCoding.versions(rows)
    }

    public func setVersionReplicas(of function: FunctionName, _ version: Int, replicas: Int) async throws(StoreError) -> Bool {
        let key = function.base.qualified
        let logger = logger
        return try await transaction("scale version \(version) of \(key)") { connection -> Bool in
            guard let json = try await connection.query("""
                SELECT spec FROM function_version WHERE function = \(key) AND version = \(version) FOR UPDATE
                """, logger: logger).collectOne(String.self) else { return false }
            var spec = try SpecCoding.decode(json)
            spec.replicas = replicas
            let stored = try SpecCoding.encode(spec)
            try await connection.query("UPDATE function_version SET spec = \(stored) WHERE function = \(key) AND version = \(version)", logger: logger)
            try await Self.changed(connection, logger)
            return true
        }
    }

    public func removeVersion(of function: FunctionName, _ version: Int) async throws(StoreError) -> RemoveVersionOutcome {
        let key = function.base.qualified
        let logger = logger
        return try await transaction("remove version \(version) of \(key)") { connection -> RemoveVersionOutcome in
            // Locked with the aliases' writers: an alias cannot start pointing at the version meanwhile.
            _ = try await connection.query("SELECT name FROM function WHERE name = \(key) FOR UPDATE", logger: logger).collect(String.self)
            let aliases = try await connection.query("SELECT name, routes FROM function_alias WHERE function = \(key)", logger: logger)
                .tuples((String, String).self).map { (name: $0.0, routes: $0.1) }
            let referencing = VersionCoding.referencing(version, in: aliases)
            let exists = !(try await connection.query("SELECT 1 FROM function_version WHERE function = \(key) AND version = \(version)", logger: logger)
                .collect(Int.self)).isEmpty
            guard exists else { return .notFound }
            guard referencing.isEmpty else { return .referenced(referencing) }
            try await connection.query("DELETE FROM function_version WHERE function = \(key) AND version = \(version)", logger: logger)
            try await Self.changed(connection, logger)
            return .removed
        }
    }

    public func setAlias(_ alias: FunctionAlias) async throws(StoreError) -> SetAliasOutcome {
        let key = alias.function.qualified
        let routes = VersionCoding.encodeRoutes(alias.routes)
        let logger = logger
        return try await transaction("set alias \(key):\(alias.name)") { connection -> SetAliasOutcome in
            guard !(try await connection.query("SELECT name FROM function WHERE name = \(key) FOR UPDATE", logger: logger).collect(String.self)).isEmpty else {
                return .functionNotFound
            }
            let known = Set(try await connection.query("SELECT version FROM function_version WHERE function = \(key)", logger: logger).collect(Int.self))
            let missing = alias.routes.map(\.version).filter { !known.contains($0) }
            guard missing.isEmpty else { return .missingVersions(missing) }
            let inserted = try await connection.query("""
                INSERT INTO function_alias (function, name, routes, updated_at) VALUES (\(key), \(alias.name), \(routes), \(alias.updatedAt.timeIntervalSince1970))
                ON CONFLICT (function, name) DO UPDATE SET routes = excluded.routes, updated_at = excluded.updated_at
                RETURNING (xmax = 0)
                """, logger: logger).collectOne(Bool.self) ?? true
            try await Self.changed(connection, logger)
            return .saved(created: inserted)
        }
    }

    public func removeAlias(of function: FunctionName, named name: String) async throws(StoreError) -> Bool {
        let key = function.base.qualified
        let logger = logger
        return try await transaction("remove alias \(key):\(name)") { connection -> Bool in
            let removed = try await connection.query("DELETE FROM function_alias WHERE function = \(key) AND name = \(name) RETURNING name", logger: logger)
                .collect(String.self)
            if !removed.isEmpty { try await Self.changed(connection, logger) }
            return !removed.isEmpty
        }
    }

    public func allAliases() async throws(StoreError) -> [FunctionAlias] {
        let logger = logger
        let rows = try await run("list aliases") { connection in
            try await connection.query("SELECT function, name, routes, updated_at FROM function_alias ORDER BY function, name", logger: logger)
                .tuples((String, String, String, Double).self)
        }
        var aliases: [FunctionAlias] = []
        for row in rows { aliases.append(try VersionCoding.decodeAlias(function: row.0, name: row.1, routes: row.2, updatedAt: row.3)) }
        return aliases
    }

    // MARK: Timer triggers

    public func timerStates() async throws(StoreError) -> [TimerState] {
        let logger = logger
        let rows = try await run("list timer triggers") { connection in
            try await connection.query("""
                SELECT function, schedule, last_tick, last_fired_by, last_run_tick, last_status, last_error, last_run_at FROM timer_trigger ORDER BY function
                """, logger: logger).tuples((String, String, Int64, String?, Int64?, Int?, String?, Double?).self)
        }
        return rows.map {
            TimerState(function: $0.0, schedule: $0.1, lastTick: $0.2, lastFiredBy: $0.3, lastRunTick: $0.4, lastStatus: $0.5, lastError: $0.6,
                       lastRunAt: $0.7.map { Date(timeIntervalSince1970: $0) })
        }
    }

    public func advanceTimer(function: String, expected: (lastTick: Int64, schedule: String)?, schedule: String, lastTick: Int64,
                             calls: [AsyncCall], node: String) async throws(StoreError) -> Bool {
        let logger = logger
        let expectedTick = expected?.lastTick, expectedSchedule = expected?.schedule
        return try await transaction("claim a tick of \(function)") { connection -> Bool in
            let won: [String]
            if let expectedTick, let expectedSchedule {
                won = try await connection.query("""
                    UPDATE timer_trigger SET last_tick = \(lastTick), schedule = \(schedule), last_fired_by = \(node)
                    WHERE function = \(function) AND last_tick = \(expectedTick) AND schedule = \(expectedSchedule) RETURNING function
                    """, logger: logger).collect(String.self)
            } else {
                // Only for a function that still exists: a step racing its removal must not leave a row behind.
                won = try await connection.query("""
                    INSERT INTO timer_trigger (function, schedule, last_tick, last_fired_by)
                    SELECT \(function), \(schedule), \(lastTick), \(node) WHERE EXISTS (SELECT 1 FROM function WHERE name = \(function))
                    ON CONFLICT DO NOTHING RETURNING function
                    """, logger: logger).collect(String.self)
            }
            guard !won.isEmpty else { return false }
            for call in calls {
                let headers = String(decoding: (try? JSONEncoder().encode(call.headers)) ?? Data("[]".utf8), as: UTF8.self)
                try await connection.query("""
                    INSERT INTO async_call (id, function, state, method, path, query, headers, body, callback_url, created_at, next_attempt_at)
                    VALUES (\(call.id), \(call.function.qualified), 'pending', \(call.method), \(call.path), \(call.query), \(headers),
                            \(ByteBuffer(bytes: call.body)), \(call.callbackURL), \(call.createdAt.timeIntervalSince1970), \(call.nextAttemptAt.timeIntervalSince1970))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            if !calls.isEmpty { try await connection.query("SELECT pg_notify(\(Self.channel), 'queued')", logger: logger) }
            return true
        }
    }

    public func recordTimerRun(function: String, tick: Int64, status: Int?, error: String?, at: Date) async throws(StoreError) {
        let logger = logger
        _ = try await run("record a timer run of \(function)") { connection in
            try await connection.query("""
                UPDATE timer_trigger SET last_run_tick = \(tick), last_status = \(status), last_error = \(error), last_run_at = \(at.timeIntervalSince1970)
                WHERE function = \(function) AND (last_run_tick IS NULL OR last_run_tick <= \(tick))
                """, logger: logger)
        }
    }
}
