public import Foundation

/// A published version as the API shows it (`GET /system/function/NAME/versions`, `list -v`).
public struct VersionStatus: Codable, Sendable, Equatable {
    public var version: Int
    public var description: String
    /// The artifact (or image) the version runs.
    public var digest: String?
    public var image: String
    public var createdAt: Date
    public var invocationCount: Double
    public var replicas: Int
    public var availableReplicas: Int
    /// The aliases routing to it, with their weights (`prod` → 90).
    public var aliases: [String: Int]

    public init(version: Int, description: String, digest: String?, image: String, createdAt: Date, invocationCount: Double, replicas: Int,
                availableReplicas: Int, aliases: [String: Int]) {
        self.version = version
        self.description = description
        self.digest = digest
        self.image = image
        self.createdAt = createdAt
        self.invocationCount = invocationCount
        self.replicas = replicas
        self.availableReplicas = availableReplicas
        self.aliases = aliases
    }
}

/// An alias as the API shows it, and the body of `PUT /system/function/NAME/aliases/ALIAS`
/// (`routes` only: `{"routes": [{"version": 3, "weight": 90}, {"version": 4, "weight": 10}]}`).
public struct AliasStatus: Codable, Sendable, Equatable {
    public var name: String?
    public var routes: [AliasRoute]
    public var updatedAt: Date?

    public init(name: String?, routes: [AliasRoute], updatedAt: Date?) {
        self.name = name
        self.routes = routes
        self.updatedAt = updatedAt
    }

    public init(_ alias: FunctionAlias) {
        self.init(name: alias.name, routes: alias.routes, updatedAt: alias.updatedAt)
    }
}

/// The body of `POST /system/function/NAME/versions` (optional).
public struct PublishRequest: Codable, Sendable, Equatable {
    public var description: String?
    public init(description: String?) { self.description = description }
}

/// A timer trigger as `GET /system/triggers` and `stratus triggers` show it.
public struct TriggerStatus: Codable, Sendable, Equatable {
    public struct Run: Codable, Sendable, Equatable {
        /// The tick the run was for.
        public var tick: Date
        /// What the function answered (absent when it could not run); retried runs show their latest attempt.
        public var status: Int?
        public var error: String?
        public var finishedAt: Date?

        public init(tick: Date, status: Int?, error: String?, finishedAt: Date?) {
            self.tick = tick
            self.status = status
            self.error = error
            self.finishedAt = finishedAt
        }
    }

    public var function: String
    public var namespace: String
    public var schedule: String
    public var timezone: String
    /// The version or alias it calls (absent: the function as last deployed).
    public var target: String?
    public var catchUp: Int
    public var eventFormat: String
    public var nextRun: Date?
    /// The last tick claimed (fired, or skipped as missed).
    public var lastTick: Date?
    /// The node that claimed it.
    public var lastFiredBy: String?
    public var lastRun: Run?

    public init(function: String, namespace: String, schedule: String, timezone: String, target: String?, catchUp: Int, eventFormat: String,
                nextRun: Date?, lastTick: Date?, lastFiredBy: String?, lastRun: Run?) {
        self.function = function
        self.namespace = namespace
        self.schedule = schedule
        self.timezone = timezone
        self.target = target
        self.catchUp = catchUp
        self.eventFormat = eventFormat
        self.nextRun = nextRun
        self.lastTick = lastTick
        self.lastFiredBy = lastFiredBy
        self.lastRun = lastRun
    }
}
