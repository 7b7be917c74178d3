public import Foundation
import GRDB
public import StratusModel

/// A timer trigger's shared state: the last tick some node claimed, and how its latest run went.
public struct TimerState: Sendable, Equatable, Codable {
    /// The function (unqualified) whose trigger this is.
    public var function: String
    /// The schedule the ticks were claimed under (expression and time zone): a changed schedule starts afresh.
    public var schedule: String
    /// The last tick claimed (in milliseconds since the epoch): every tick up to it has fired or was skipped.
    public var lastTick: Int64
    public var lastFiredBy: String?
    /// The tick of the latest run with an outcome, and that outcome.
    public var lastRunTick: Int64?
    public var lastStatus: Int?
    public var lastError: String?
    public var lastRunAt: Date?

    public init(function: String, schedule: String, lastTick: Int64, lastFiredBy: String? = nil, lastRunTick: Int64? = nil,
                lastStatus: Int? = nil, lastError: String? = nil, lastRunAt: Date? = nil) {
        self.function = function
        self.schedule = schedule
        self.lastTick = lastTick
        self.lastFiredBy = lastFiredBy
        self.lastRunTick = lastRunTick
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.lastRunAt = lastRunAt
    }

    /// The trigger function and tick a timer call's id names (`timer-NAME-MILLIS`), if it is one.
    public static func parse(callID: String) -> (function: String, tick: Int64)? {
        guard callID.hasPrefix("timer-"), let dash = callID.lastIndex(of: "-") else { return nil }
        let function = callID[callID.index(callID.startIndex, offsetBy: 6)..<dash]
        guard !function.isEmpty, let tick = Int64(callID[callID.index(after: dash)...]) else { return nil }
        return (String(function), tick)
    }
}

/// Timer triggers fire through the async queue; every node tries every tick, and the store lets one win.
public protocol TimerStore: Sendable {
    /// Every trigger's state, by function.
    func timerStates() async throws(StoreError) -> [TimerState]
    /// Moves `function`'s trigger from the state read (`expected`: its last tick and schedule; `nil` when
    /// there was no row) to `lastTick` under `schedule`, and enqueues `calls` (ids already queued are
    /// left alone), in one transaction. `false`, changing nothing, when another node moved it first
    /// (or, for a new row, when the function no longer exists).
    func advanceTimer(function: String, expected: (lastTick: Int64, schedule: String)?, schedule: String, lastTick: Int64,
                      calls: [AsyncCall], node: String) async throws(StoreError) -> Bool
    /// A run of a timer call ended (or will be retried): kept when it is the trigger's latest run.
    func recordTimerRun(function: String, tick: Int64, status: Int?, error: String?, at: Date) async throws(StoreError)
}

extension SQLiteStore: TimerStore {
    public func timerStates() async throws(StoreError) -> [TimerState] {
        try await readDatabase { db in
            try Row.fetchAll(db, sql: "SELECT * FROM timerTrigger ORDER BY function").map { row in
                TimerState(function: row["function"], schedule: row["schedule"], lastTick: row["lastTick"], lastFiredBy: row["lastFiredBy"],
                           lastRunTick: row["lastRunTick"], lastStatus: row["lastStatus"], lastError: row["lastError"],
                           lastRunAt: (row["lastRunAt"] as Double?).map { Date(timeIntervalSince1970: $0) })
            }
        }
    }

    public func advanceTimer(function: String, expected: (lastTick: Int64, schedule: String)?, schedule: String, lastTick: Int64,
                             calls: [AsyncCall], node: String) async throws(StoreError) -> Bool {
        let rows = calls.map(Self.callRow)
        let expectedTick = expected?.lastTick, expectedSchedule = expected?.schedule
        return try await writeDatabase { db -> Bool in
            if let expectedTick, let expectedSchedule {
                try db.execute(sql: """
                    UPDATE timerTrigger SET lastTick = ?, schedule = ?, lastFiredBy = ? WHERE function = ? AND lastTick = ? AND schedule = ?
                    """, arguments: [lastTick, schedule, node, function, expectedTick, expectedSchedule])
            } else {
                // Only for a function that still exists: a step racing its removal must not leave a row behind.
                try db.execute(sql: """
                    INSERT OR IGNORE INTO timerTrigger (function, schedule, lastTick, lastFiredBy)
                    SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM function WHERE name = ?)
                    """, arguments: [function, schedule, lastTick, node, function])
            }
            guard db.changesCount > 0 else { return false }
            for row in rows { try Self.insertCall(row, db: db, ignoringDuplicates: true) }
            return true
        }
    }

    public func recordTimerRun(function: String, tick: Int64, status: Int?, error: String?, at: Date) async throws(StoreError) {
        try await writeDatabase { db in
            try db.execute(sql: """
                UPDATE timerTrigger SET lastRunTick = ?, lastStatus = ?, lastError = ?, lastRunAt = ?
                WHERE function = ? AND (lastRunTick IS NULL OR lastRunTick <= ?)
                """, arguments: [tick, status, error, at.timeIntervalSince1970, function, tick])
        }
    }
}
