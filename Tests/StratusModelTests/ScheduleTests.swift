import Foundation
import StratusModel
import Testing

/// Cron expressions, macros and `@every`, their next ticks (in time zones, across DST), and the
/// trigger the cron-connector annotations set up.
struct CronScheduleTests {
    let utc = TimeZone(identifier: "UTC")!

    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    func stamp(_ date: Date?) -> String? { date.map { ISO8601DateFormatter().string(from: $0) } }

    @Test func fieldsListsRangesStepsAndNames() throws {
        let every5 = try CronSchedule("*/5 * * * *")
        #expect(stamp(every5.next(after: date("2026-12-07T10:03:10Z"))) == "2026-12-07T10:05:00Z")
        #expect(stamp(every5.next(after: date("2026-12-07T10:05:00Z"))) == "2026-12-07T10:10:00Z", "strictly after")
        let weekdays = try CronSchedule("30 9 * * MON-FRI")
        // 2026-12-05 is a Saturday: the next weekday 09:30 is Monday the 7th.
        #expect(stamp(weekdays.next(after: date("2026-12-05T12:00:00Z"))) == "2026-12-07T09:30:00Z")
        let list = try CronSchedule("0,15,45 8-10/2 1 JAN,jul *")
        #expect(stamp(list.next(after: date("2026-02-01T00:00:00Z"))) == "2026-07-01T08:00:00Z")
        #expect(stamp(list.next(after: date("2026-07-01T08:00:00Z"))) == "2026-07-01T08:15:00Z")
        #expect(stamp(list.next(after: date("2026-07-01T08:45:00Z"))) == "2026-07-01T10:00:00Z", "hours 8 and 10 only")
        let sunday7 = try CronSchedule("0 0 * * 7")
        #expect(stamp(sunday7.next(after: date("2026-12-07T00:00:00Z"))) == "2026-12-13T00:00:00Z", "7 is Sunday too")
    }

    @Test func dayOfMonthAndDayOfWeekBothRestrictedMeansEither() throws {
        // Vixie cron: the 13th, or any Friday.
        let schedule = try CronSchedule("0 12 13 * FRI")
        #expect(stamp(schedule.next(after: date("2026-12-07T00:00:00Z"))) == "2026-12-11T12:00:00Z", "Friday the 11th")
        #expect(stamp(schedule.next(after: date("2026-12-11T12:00:00Z"))) == "2026-12-13T12:00:00Z", "Sunday the 13th")
    }

    @Test func macros() throws {
        let after = date("2026-12-07T10:03:10Z")
        #expect(stamp(try CronSchedule("@hourly").next(after: after)) == "2026-12-07T11:00:00Z")
        #expect(stamp(try CronSchedule("@daily").next(after: after)) == "2026-12-08T00:00:00Z")
        #expect(stamp(try CronSchedule("@midnight").next(after: after)) == "2026-12-08T00:00:00Z")
        #expect(stamp(try CronSchedule("@weekly").next(after: after)) == "2026-12-13T00:00:00Z")
        #expect(stamp(try CronSchedule("@monthly").next(after: after)) == "2027-01-01T00:00:00Z")
        #expect(stamp(try CronSchedule("@yearly").next(after: after)) == "2027-01-01T00:00:00Z")
        #expect(stamp(try CronSchedule("@annually").next(after: after)) == "2027-01-01T00:00:00Z")
    }

    @Test func everyTicksOnMultiplesOfItsPeriodSoEveryNodeAgrees() throws {
        let schedule = try CronSchedule("@every 30s")
        #expect(stamp(schedule.next(after: date("2026-12-07T10:03:10Z"))) == "2026-12-07T10:03:30Z")
        #expect(stamp(schedule.next(after: date("2026-12-07T10:03:30Z"))) == "2026-12-07T10:04:00Z")
        let fast = try CronSchedule("@every 100ms")
        let next = try #require(fast.next(after: Date(timeIntervalSince1970: 1000.05)))
        // Dates hold seconds since 2001 as a Double: compared to the millisecond, as the store keeps ticks.
        func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        #expect(millis(next) == 1_000_100)
        // Counted without walking: a day of 100ms ticks.
        let (kept, count) = fast.ticks(after: Date(timeIntervalSince1970: 0), through: Date(timeIntervalSince1970: 86400), keepingLast: 3)
        #expect(count == 864_000)
        #expect(kept.map(millis) == [86_399_800, 86_399_900, 86_400_000])
    }

    @Test func ticksBetweenTwoTimesKeepTheLastOnes() throws {
        let schedule = try CronSchedule("*/10 * * * *")
        let (kept, count) = schedule.ticks(after: date("2026-12-07T10:00:00Z"), through: date("2026-12-07T11:00:00Z"), keepingLast: 2)
        #expect(count == 6)
        #expect(kept.map { stamp($0)! } == ["2026-12-07T10:50:00Z", "2026-12-07T11:00:00Z"])
        #expect(schedule.ticks(after: date("2026-12-07T10:00:00Z"), through: date("2026-12-07T10:09:59Z"), keepingLast: 5).count == 0)
    }

    @Test func timeZonesAndDaylightSavingTime() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let nine = try CronSchedule("0 9 * * *", timeZone: berlin, named: "Europe/Berlin")
        // Winter: UTC+1.
        #expect(stamp(nine.next(after: date("2026-12-07T00:00:00Z"))) == "2026-12-07T08:00:00Z")
        // Summer: UTC+2.
        #expect(stamp(nine.next(after: date("2026-07-01T00:00:00Z"))) == "2026-07-01T07:00:00Z")
        // The night clocks go forward (29 March 2026, 02:00 → 03:00): 02:30 does not exist that day.
        let half = try CronSchedule("30 2 * * *", timeZone: berlin, named: "Europe/Berlin")
        let spring = try #require(half.next(after: date("2026-03-28T12:00:00Z")))
        #expect(stamp(spring) == "2026-03-30T00:30:00Z", "the next 02:30 that exists, the day after")
        #expect(nine.timeZoneName == "Europe/Berlin")
    }

    @Test(arguments: [
        ("*/5 * * *", "expected 5 fields"),
        ("0 0 0 * * *", "seconds are not a field here"),
        ("61 * * * *", "minute '61' is not in 0-59"),
        ("* 24 * * *", "hour '24' is not in 0-23"),
        ("* * 0 * *", "day of month '0' is not in 1-31"),
        ("* * * 13 *", "month '13' is not in 1-12"),
        ("* * * * FUNDAY", "day of week 'FUNDAY'"),
        ("*/0 * * * *", "step '0' is not a positive number"),
        ("5-1 * * * *", "runs backwards"),
        ("0 0 30 2 *", "never fires"),
        ("@fortnightly", "unknown macro"),
        ("@every", "@every needs a duration"),
        ("@every soon", "@every needs a duration"),
        ("@every 50ms", "at least 100ms"),
        ("@hourly 5", "takes nothing after it"),
    ])
    func badExpressionsSayWhatIsWrong(text: String, why: String) {
        do {
            _ = try CronSchedule(text)
            Issue.record("'\(text)' was accepted")
        } catch {
            #expect(error.description.contains("invalid schedule '\(text)'"), "\(error)")
            #expect(error.description.contains(why), "\(error)")
        }
    }
}

struct TimerTriggerTests {
    @Test func theCronConnectorsAnnotationsSetUpATrigger() throws {
        #expect(try TimerTrigger(annotations: [:]) == nil)
        #expect(try TimerTrigger(annotations: ["schedule": "* * * * *"]) == nil, "no topic: the cron-connector ignores it")
        #expect(try TimerTrigger(annotations: ["topic": "orders", "schedule": "* * * * *"]) == nil)
        let trigger = try #require(try TimerTrigger(annotations: [
            "topic": "orders, cron-function", "schedule": "*/5 * * * *", "com.stratus.schedule.timezone": "Asia/Tokyo",
            "com.stratus.schedule.catch-up": "3", "com.stratus.schedule.target": "prod", "com.stratus.schedule.name": "nightly",
            "com.stratus.schedule.message": "hello",
        ]))
        #expect(trigger.schedule.expression == "*/5 * * * *" && trigger.schedule.timeZoneName == "Asia/Tokyo")
        #expect(trigger.catchUp == 3 && trigger.target == "prod" && trigger.name == "nightly" && trigger.message == "hello")
        let plain = try #require(try TimerTrigger(annotations: ["topic": "cron-function", "schedule": "@every 1s"]))
        #expect(plain.catchUp == 0 && plain.target == nil && plain.schedule.timeZoneName == "UTC")
    }

    @Test func badAnnotationsNameTheirField() {
        func problem(_ annotations: [String: String]) -> String {
            do { _ = try TimerTrigger(annotations: annotations); return "accepted" } catch { return error.description }
        }
        #expect(problem(["topic": "cron-function"]).contains("invalid schedule"))
        #expect(problem(["topic": "cron-function", "schedule": "@every 1s", "com.stratus.schedule.timezone": "Mars/Olympus"])
            .contains("invalid com.stratus.schedule.timezone 'Mars/Olympus'"))
        #expect(problem(["topic": "cron-function", "schedule": "@every 1s", "com.stratus.schedule.catch-up": "-1"])
            .contains("invalid com.stratus.schedule.catch-up '-1'"))
        #expect(problem(["topic": "cron-function", "schedule": "@every 1s", "com.stratus.schedule.target": "Prod!"])
            .contains("invalid com.stratus.schedule.target 'Prod!'"))
        #expect(problem(["topic": "cron-function", "schedule": "every minute"]).contains("invalid schedule 'every minute'"))
    }

    @Test func aTicksCallHasADeterministicIdTheConnectorsHeadersAndTheSCFTimerEvent() throws {
        let name = try FunctionName("report")
        let trigger = try #require(try TimerTrigger(annotations: ["topic": "cron-function", "schedule": "@every 1s", "com.stratus.schedule.message": "m"]))
        let tick = Date(timeIntervalSince1970: 1_796_662_818)
        let call = trigger.call(function: name, tick: tick, format: .raw)
        #expect(call.id == "timer-report-1796662818000")
        #expect(call.id == trigger.call(function: name, tick: tick, format: .raw, now: Date().addingTimeInterval(5)).id, "the same on every node")
        #expect(call.body.isEmpty && call.method == "POST" && call.function == name && call.callbackURL == nil)
        #expect(call.headers.contains(["X-Connector", "cron-connector"]))
        #expect(call.headers.contains(["X-Scheduled-Time", "2026-12-07T17:00:18Z"]))
        let scf = trigger.call(function: name, tick: tick, format: .timerSCF)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(scf.body)) as? [String: String])
        #expect(event == ["Type": "Timer", "TriggerName": "timer", "Time": "2026-12-07T17:00:18Z", "Message": "m"])
        // The event reaches an SCF function as it is (not wrapped as an API-gateway event).
        #expect(EventFormat.apigatewaySCF.event(for: scf.invocation) == scf.body)
        #expect(EventFormat.timerSCF.event(for: scf.invocation) == scf.body)
        let targeted = try #require(try TimerTrigger(annotations: ["topic": "cron-function", "schedule": "@every 1s", "com.stratus.schedule.target": "prod"]))
        #expect(targeted.call(function: name, tick: tick, format: .raw).function.qualified == "report:prod")
        #expect(TimerTrigger.timestamp(Date(timeIntervalSince1970: 1.5)) == "1970-01-01T00:00:01.500Z")
    }

    @Test func aBadScheduleIsABadSetting() throws {
        let spec = FunctionSpec(name: try FunctionName("f"), image: "f", artifact: nil, annotations: ["topic": "cron-function", "schedule": "* * *"])
        #expect(throws: ModelError.self) { try spec.settings() }
        var good = spec
        good.annotations["schedule"] = "@every 1m"
        #expect(try good.settings().timer?.schedule.expression == "@every 1m")
    }
}

struct VersionsAndAliasesTests {
    @Test func addressesCarryAVersionOrAnAlias() throws {
        let plain = try FunctionName(address: "shop")
        #expect(plain.qualifier == nil && plain.qualified == "shop")
        let version = try FunctionName(address: "shop:3")
        #expect(version.version == 3 && !version.isAlias && version.qualified == "shop:3" && version.base == plain)
        let alias = try FunctionName(address: "shop.team-a:prod")
        #expect(alias.isAlias && alias.namespace == "team-a" && alias.rawValue == "shop" && alias.qualified == "shop.team-a:prod")
        #expect(alias.base.qualified == "shop.team-a")
        #expect(plain != version && version != alias)
        for bad in ["shop:", "shop:0", "shop:03", "shop:-1", "shop:Prod", "shop:latest", "shop:$LATEST", "shop:a:b"] {
            #expect(throws: ModelError.self, "\(bad)") { try FunctionName(address: bad) }
        }
        #expect(throws: ModelError.self, "a deployment's name takes no qualifier") { try FunctionName(parsing: "shop:3") }
        // Stored calls and specs keep the qualifier.
        let decoded = try JSONDecoder().decode(FunctionName.self, from: JSONEncoder().encode(alias))
        #expect(decoded == alias)
        #expect([try FunctionName(address: "a:prod"), try FunctionName(address: "a:10"), try FunctionName(address: "a"), try FunctionName(address: "a:2")]
            .sorted().map(\.qualified) == ["a", "a:2", "a:10", "a:prod"])
    }

    @Test func aliasesCheckTheirRoutes() throws {
        let fn = try FunctionName("shop")
        #expect(try FunctionAlias.routes(parsing: "3") == [AliasRoute(version: 3, weight: 100)])
        #expect(try FunctionAlias.routes(parsing: "3=90, 4=10") == [AliasRoute(version: 3, weight: 90), AliasRoute(version: 4, weight: 10)])
        for bad in ["three", "3=90,4", "3=x"] { #expect(throws: ModelError.self, "\(bad)") { try FunctionAlias.routes(parsing: bad) } }
        func problem(_ name: String, _ routes: [AliasRoute]) -> String {
            do { _ = try FunctionAlias(function: fn, name: name, routes: routes); return "accepted" } catch { return error.description }
        }
        #expect(problem("prod", [AliasRoute(version: 3, weight: 90), AliasRoute(version: 4, weight: 5)]).contains("add up to 95, not 100"))
        #expect(problem("prod", [AliasRoute(version: 3, weight: 100), AliasRoute(version: 3, weight: 0)]).contains("twice"))
        #expect(problem("prod", [AliasRoute(version: 0, weight: 100)]).contains("versions start at 1"))
        #expect(problem("prod", [AliasRoute(version: 2, weight: 110), AliasRoute(version: 3, weight: -10)]).contains("weight -10"))
        #expect(problem("7", [AliasRoute(version: 1, weight: 100)]).contains("must start with a lowercase letter"))
        #expect(problem("latest", [AliasRoute(version: 1, weight: 100)]).contains("the function itself"))
        #expect(problem("prod", []).contains("names no version"))
        #expect(try FunctionAlias(function: fn, name: "prod", routes: [AliasRoute(version: 4, weight: 10), AliasRoute(version: 3, weight: 90)])
            .routesText == "3=90,4=10")
    }

    @Test func tenThousandCallsSplitWithinTwoPercentOfTheWeightsAndACallIdSticks() throws {
        let alias = try FunctionAlias(function: try FunctionName("shop"), name: "prod",
                                      routes: [AliasRoute(version: 3, weight: 90), AliasRoute(version: 4, weight: 10)])
        for ids in [(0..<10_000).map { _ in UUID().uuidString }, (0..<10_000).map { "call-\($0)" }] {
            var counts: [Int: Int] = [:]
            for id in ids { counts[alias.version(for: id), default: 0] += 1 }
            #expect(abs(Double(counts[3] ?? 0) / 100 - 90) <= 2, "\(counts)")
            #expect(abs(Double(counts[4] ?? 0) / 100 - 10) <= 2, "\(counts)")
        }
        let three = try FunctionAlias(function: try FunctionName("shop"), name: "canary",
                                      routes: [AliasRoute(version: 1, weight: 50), AliasRoute(version: 2, weight: 30), AliasRoute(version: 5, weight: 20)])
        var counts: [Int: Int] = [:]
        for index in 0..<10_000 { counts[three.version(for: "req-\(index)-x"), default: 0] += 1 }
        #expect(abs(Double(counts[1] ?? 0) / 100 - 50) <= 2 && abs(Double(counts[2] ?? 0) / 100 - 30) <= 2
                && abs(Double(counts[5] ?? 0) / 100 - 20) <= 2, "\(counts)")
        for id in ["a", "retry-me", UUID().uuidString] {
            let first = alias.version(for: id)
            #expect((0..<50).allSatisfy { _ in alias.version(for: id) == first }, "a retry with the same id reaches the same version")
        }
    }

    @Test func aVersionIsTheDeploymentFrozenUnderItsNumber() throws {
        var latest = FunctionSpec(name: try FunctionName("shop", namespace: "team-a"), image: "shop:1", artifact: nil, envVars: ["A": "1"], secrets: ["db"])
        latest.replicas = 4
        let frozen = try FunctionVersion.freeze(latest, as: 7)
        #expect(frozen.name.qualified == "shop.team-a:7" && frozen.replicas == nil)
        #expect(frozen.envVars == latest.envVars && frozen.secrets == ["db"] && frozen.image == latest.image)
    }
}
