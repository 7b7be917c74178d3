public import Foundation

/// When a timer trigger fires: a standard five-field cron expression (minute, hour, day of month,
/// month, day of week; names like `MON` and `JAN`, lists, ranges and steps), a macro (`@hourly`,
/// `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`), or `@every DURATION`
/// (`@every 30s`; at least 100ms), in a time zone.
///
/// `@every` ticks fall on whole multiples of the duration since the Unix epoch, so every node of a
/// cluster computes the same ticks. As in Vixie cron, when both the day of month and the day of week
/// are restricted, a day matching either fires.
public struct CronSchedule: Sendable, Equatable {
    /// The expression as written.
    public let expression: String
    public let timeZone: TimeZone
    /// The time zone as the user named it (`UTC` unless named).
    public let timeZoneName: String
    private let kind: Kind

    private enum Kind: Sendable, Equatable {
        case fields(minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>, daysRestricted: Bool, weekdaysRestricted: Bool)
        /// Milliseconds between ticks.
        case every(Int64)
    }

    /// Seconds between ticks for `@every`; `nil` for cron fields (a minute or more apart).
    public var every: Double? {
        if case .every(let period) = kind { return Double(period) / 1000 }
        return nil
    }

    /// The shortest `@every` allowed.
    public static let shortestEvery = 0.1

    /// Parses `text`; the error says which part is wrong.
    public init(_ text: String, timeZone: TimeZone = TimeZone(identifier: "UTC")!, named zoneName: String = "UTC") throws(ModelError) {
        let trimmed = text.trimmingWhitespace()
        expression = trimmed
        self.timeZone = timeZone
        timeZoneName = zoneName
        func fail(_ why: String) -> ModelError { .invalidSchedule(TimerTrigger.scheduleAnnotation, text, why) }
        var fieldsText = trimmed
        if trimmed.hasPrefix("@") {
            let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
            switch parts[0].lowercased() {
            case "@every":
                guard parts.count == 2, let seconds = try? Quantities.duration(parts[1]) else {
                    throw fail("@every needs a duration such as 30s, 5m or 500ms")
                }
                guard seconds >= Self.shortestEvery else { throw fail("@every must be at least 100ms") }
                kind = .every(Int64((seconds * 1000).rounded()))
                return
            case "@yearly", "@annually": fieldsText = "0 0 1 1 *"
            case "@monthly": fieldsText = "0 0 1 * *"
            case "@weekly": fieldsText = "0 0 * * 0"
            case "@daily", "@midnight": fieldsText = "0 0 * * *"
            case "@hourly": fieldsText = "0 * * * *"
            default: throw fail("unknown macro \(parts[0]) (use @every DURATION, @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)")
            }
            guard parts.count == 1 else { throw fail("\(parts[0]) takes nothing after it") }
        }
        let fields = fieldsText.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw fail("expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)"
                        + (fields.count == 6 ? "; seconds are not a field here, use @every for sub-minute schedules" : ""))
        }
        let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        let minute = try Self.field(fields[0], "minute", 0...59, names: [:], fail: fail)
        let hour = try Self.field(fields[1], "hour", 0...23, names: [:], fail: fail)
        let dom = try Self.field(fields[2], "day of month", 1...31, names: [:], fail: fail)
        let month = try Self.field(fields[3], "month", 1...12, names: Dictionary(uniqueKeysWithValues: months.enumerated().map { ($1, $0 + 1) }), fail: fail)
        var dow = try Self.field(fields[4], "day of week", 0...7, names: Dictionary(uniqueKeysWithValues: days.enumerated().map { ($1, $0) }), fail: fail)
        if dow.values.contains(7) { dow.values.insert(0); dow.values.remove(7) }
        kind = .fields(minutes: minute.values, hours: hour.values, days: dom.values, months: month.values, weekdays: dow.values,
                       daysRestricted: !dom.star, weekdaysRestricted: !dow.star)
        // A schedule that never fires (30 February) is a mistake, not a schedule.
        guard next(after: Date()) != nil else { throw fail("it never fires (no such date)") }
    }

    private static func field(_ text: String, _ what: String, _ range: ClosedRange<Int>, names: [String: Int],
                              fail: (String) -> ModelError) throws(ModelError) -> (values: Set<Int>, star: Bool) {
        func number(_ part: Substring) throws(ModelError) -> Int {
            if let value = Int(part) ?? names[part.uppercased()], range.contains(value) { return value }
            throw fail("\(what) '\(part)' is not in \(range.lowerBound)-\(range.upperBound)")
        }
        var values = Set<Int>()
        var star = false
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("\(what) has an empty list item") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw fail("\(what) '\(item)' has more than one '/'") }
            var step = 1
            if stepParts.count == 2 {
                guard let value = Int(stepParts[1]), value > 0 else { throw fail("\(what) step '\(stepParts[1])' is not a positive number") }
                step = value
            }
            let base = stepParts[0]
            var low: Int, high: Int
            if base == "*" || base == "?" {
                (low, high) = (range.lowerBound, range.upperBound)
                if stepParts.count == 1 { star = true }
            } else if let dash = base.firstIndex(of: "-") {
                low = try number(base[..<dash])
                high = try number(base[base.index(after: dash)...])
                guard low <= high else { throw fail("\(what) range '\(base)' runs backwards") }
            } else {
                low = try number(base)
                high = stepParts.count == 2 ? range.upperBound : low
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return (values, star)
    }

    /// The first tick strictly after `date`; `nil` when there is none within eight years.
    public func next(after date: Date) -> Date? {
        switch kind {
        case .every(let period):
            let now = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
            let next = (now.dividedRoundingDown(by: period) + 1) * period
            return Date(timeIntervalSince1970: Double(next) / 1000)
        case let .fields(minutes, hours, days, months, weekdays, daysRestricted, weekdaysRestricted):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            // The next whole minute.
            var t = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
            let end = date.addingTimeInterval(8 * 366 * 86400)
            while t < end {
                let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
                guard let year = c.year, let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday else {
                    return nil
                }
                if !months.contains(month) {
                    let nextMonth = month == 12 ? DateComponents(year: year + 1, month: 1, day: 1) : DateComponents(year: year, month: month + 1, day: 1)
                    guard let start = calendar.date(from: nextMonth) else { return nil }
                    t = start
                    continue
                }
                let dayOfMonth = days.contains(day), dayOfWeek = weekdays.contains(weekday - 1)
                let dayMatches = daysRestricted && weekdaysRestricted ? (dayOfMonth || dayOfWeek) : (dayOfMonth && dayOfWeek)
                if !dayMatches {
                    guard let start = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: t)) else { return nil }
                    t = start
                    continue
                }
                if !hours.contains(hour) {
                    t = t.addingTimeInterval(Double(3600 - minute * 60))
                    continue
                }
                if !minutes.contains(minute) {
                    t = t.addingTimeInterval(60)
                    continue
                }
                return t
            }
            return nil
        }
    }

    /// The ticks after `start` up to and including `end`, oldest first, at most the last `limit` of them;
    /// `count` is how many there were in all (up to `countLimit`).
    public func ticks(after start: Date, through end: Date, keepingLast limit: Int, countLimit: Int = 1_000_000) -> (ticks: [Date], count: Int) {
        var kept: [Date] = []
        var count = 0
        if case .every(let period) = kind {
            // Counted, not walked: a week of 100ms ticks is six million.
            let first = (Int64((start.timeIntervalSince1970 * 1000).rounded(.down)).dividedRoundingDown(by: period) + 1)
            let last = Int64((end.timeIntervalSince1970 * 1000).rounded(.down)).dividedRoundingDown(by: period)
            guard last >= first else { return ([], 0) }
            count = Int(min(last - first + 1, Int64(countLimit)))
            let from = max(first, last - Int64(limit) + 1)
            if limit > 0 { kept = (from...last).map { Date(timeIntervalSince1970: Double($0 * period) / 1000) } }
            return (kept, count)
        }
        var t = start
        while count < countLimit, let next = next(after: t), next <= end {
            count += 1
            kept.append(next)
            if kept.count > limit { kept.removeFirst() }
            t = next
        }
        return (kept, count)
    }

    public static func == (lhs: CronSchedule, rhs: CronSchedule) -> Bool {
        lhs.expression == rhs.expression && lhs.timeZoneName == rhs.timeZoneName && lhs.kind == rhs.kind
    }
}

extension Int64 {
    fileprivate func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

/// A timer trigger, as OpenFaaS's cron-connector reads it from a function's annotations:
/// `topic: cron-function` and `schedule: "*/5 * * * *"`, plus Stratus's own optional keys.
public struct TimerTrigger: Sendable, Equatable {
    public static let topicAnnotation = "topic"
    public static let topic = "cron-function"
    public static let scheduleAnnotation = "schedule"
    /// An IANA time zone for the cron fields (`Europe/Berlin`); UTC when absent.
    public static let timeZoneAnnotation = "com.stratus.schedule.timezone"
    /// How many ticks missed while no node ran are replayed (default 0: none).
    public static let catchUpAnnotation = "com.stratus.schedule.catch-up"
    /// A version or alias the trigger calls instead of the function as last deployed.
    public static let targetAnnotation = "com.stratus.schedule.target"
    /// The trigger's name and message in an SCF timer event (`TriggerName`, `Message`).
    public static let nameAnnotation = "com.stratus.schedule.name"
    public static let messageAnnotation = "com.stratus.schedule.message"
    /// Most missed ticks a trigger may replay.
    public static let maxCatchUp = 1000

    public var schedule: CronSchedule
    public var catchUp = 0
    public var target: String?
    public var name = "timer"
    public var message = ""

    /// The trigger the annotations set up, or `nil` when `topic` does not name `cron-function`.
    public init?(annotations: [String: String]) throws(ModelError) {
        guard let topic = annotations[Self.topicAnnotation],
              topic.split(separator: ",").contains(where: { String($0).trimmingWhitespace() == Self.topic }) else { return nil }
        guard let text = annotations[Self.scheduleAnnotation], !text.trimmingWhitespace().isEmpty else {
            throw ModelError.invalidSchedule(Self.scheduleAnnotation, "", "topic cron-function needs a schedule annotation, e.g. \"*/5 * * * *\"")
        }
        var zone = TimeZone(identifier: "UTC")!
        var zoneName = "UTC"
        if let name = annotations[Self.timeZoneAnnotation], !name.isEmpty {
            guard let found = TimeZone(identifier: name) else {
                throw ModelError.invalidSchedule(Self.timeZoneAnnotation, name, "not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)")
            }
            zone = found
            zoneName = name
        }
        schedule = try CronSchedule(text, timeZone: zone, named: zoneName)
        if let text = annotations[Self.catchUpAnnotation] {
            guard let value = Int(text), (0...Self.maxCatchUp).contains(value) else {
                throw ModelError.invalidSchedule(Self.catchUpAnnotation, text, "expected a whole number from 0 to \(Self.maxCatchUp)")
            }
            catchUp = value
        }
        if let text = annotations[Self.targetAnnotation], !text.isEmpty {
            if let problem = FunctionName.qualifierProblem(text) { throw ModelError.invalidSchedule(Self.targetAnnotation, text, problem) }
            target = text
        }
        if let text = annotations[Self.nameAnnotation], !text.isEmpty { name = text }
        message = annotations[Self.messageAnnotation] ?? ""
    }

    /// The call id of the run for the tick at `time`: the same on every node, so a tick runs once.
    public static func callID(function: FunctionName, tick time: Date) -> String {
        "timer-\(function.qualified)-\(Int64((time.timeIntervalSince1970 * 1000).rounded()))"
    }

    /// The async call that runs `function` for the tick at `time`: an empty body with the
    /// cron-connector's headers, or an SCF timer event when the function reads SCF events.
    public func call(function: FunctionName, tick time: Date, format: EventFormat, now: Date = Date()) -> AsyncCall {
        let stamp = Self.timestamp(time)
        let target = (try? self.target.map { (q: String) throws(ModelError) in try FunctionName(function.base, qualifier: q) }) ?? nil
        var headers = [["X-Connector", "cron-connector"], ["X-Scheduled-Time", stamp], ["X-Trigger-Name", name]]
        var body: [UInt8] = []
        if format.readsSCFEvents {
            let event: [String: Any] = ["Type": "Timer", "TriggerName": name, "Time": stamp, "Message": message]
            body = Array((try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data())
            headers.append(["Content-Type", "application/json"])
        }
        return AsyncCall(id: Self.callID(function: function, tick: time), function: target ?? function, method: "POST", path: "/", query: "",
                         headers: headers, body: body, callbackURL: nil, createdAt: now)
    }

    /// RFC 3339 in UTC, to the millisecond when the tick has one (`2026-12-07T10:00:00Z`).
    public static func timestamp(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let whole = time.timeIntervalSince1970.rounded(.down) == time.timeIntervalSince1970
        formatter.formatOptions = whole ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: time)
    }
}
