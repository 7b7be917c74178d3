public import Foundation

/// A published version of a function: its deployment frozen as it was (artifact digest, settings,
/// env, secrets by name), numbered from 1 per function. It never changes; `/function/NAME:N` calls it.
public struct FunctionVersion: Sendable, Equatable, Codable {
    /// The function (unqualified).
    public var function: FunctionName
    public var version: Int
    public var description: String
    /// The deployment as published, its name qualified with the version (`name:3`).
    public var spec: FunctionSpec
    public var createdAt: Date

    public init(function: FunctionName, version: Int, description: String, spec: FunctionSpec, createdAt: Date) {
        self.function = function
        self.version = version
        self.description = description
        self.spec = spec
        self.createdAt = createdAt
    }

    /// The version `number` of `latest` (the function's current spec): the same deployment under the
    /// qualified name, with no replica count of its own (scaling `$LATEST` does not carry over).
    public static func freeze(_ latest: FunctionSpec, as number: Int, now: Date = Date()) throws(ModelError) -> FunctionSpec {
        var spec = latest
        spec.name = try FunctionName(latest.name.base, qualifier: String(number))
        spec.replicas = nil
        spec.createdAt = now
        spec.updatedAt = now
        return spec
    }
}

/// One version an alias sends calls to, and its share of them (percent).
public struct AliasRoute: Sendable, Equatable, Codable, Hashable {
    public var version: Int
    public var weight: Int

    public init(version: Int, weight: Int) {
        self.version = version
        self.weight = weight
    }
}

/// A named pointer to one version, or to several with weights that add up to 100
/// (`prod` → 3=90,4=10). A call picks its version from its call id, so a retry with the same
/// `X-Call-Id` reaches the same version.
public struct FunctionAlias: Sendable, Equatable, Codable {
    public var function: FunctionName
    public var name: String
    public var routes: [AliasRoute]
    public var updatedAt: Date

    /// Checks the name and the routes: versions from 1, each once, weights from 1 adding up to 100.
    public init(function: FunctionName, name: String, routes: [AliasRoute], updatedAt: Date = Date()) throws(ModelError) {
        if let problem = FunctionName.aliasProblem(name) { throw .invalidAlias("'\(name)': \(problem)") }
        guard !routes.isEmpty else { throw .invalidAlias("'\(name)' names no version") }
        guard Set(routes.map(\.version)).count == routes.count else { throw .invalidAlias("'\(name)' names a version twice") }
        for route in routes {
            guard route.version > 0 else { throw .invalidAlias("version \(route.version) does not exist (versions start at 1)") }
            guard route.weight > 0 else { throw .invalidAlias("version \(route.version) has weight \(route.weight); weights are 1 to 100") }
        }
        let total = routes.reduce(0) { $0 + $1.weight }
        guard total == 100 else { throw .invalidAlias("the weights add up to \(total), not 100") }
        self.function = function.base
        self.name = name
        self.routes = routes.sorted { $0.version < $1.version }
        self.updatedAt = updatedAt
    }

    /// Parses routes as the CLI takes them: `3` (all calls) or `3=90,4=10`.
    public static func routes(parsing text: String) throws(ModelError) -> [AliasRoute] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        if parts.count == 1, !parts[0].contains("=") {
            guard let version = Int(parts[0]) else { throw .invalidAlias("'\(text)' is not a version number (e.g. 3, or 3=90,4=10)") }
            return [AliasRoute(version: version, weight: 100)]
        }
        var routes: [AliasRoute] = []
        for part in parts {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2, let version = Int(String(pair[0]).trimmingWhitespace()), let weight = Int(String(pair[1]).trimmingWhitespace()) else {
                throw .invalidAlias("'\(part)' is not VERSION=WEIGHT (e.g. 3=90,4=10)")
            }
            routes.append(AliasRoute(version: version, weight: weight))
        }
        return routes
    }

    /// The version a call with `callID` goes to: a stable hash of the id, placed on the weights.
    public func version(for callID: String) -> Int { slots[Self.point(callID)] }

    /// The version for each of the 100 points a call id can fall on (each version as many as its
    /// weight): what the invoker routes by, made once per alias change.
    public var slots: [Int] { routes.flatMap { repeatElement($0.version, count: $0.weight) } }

    /// Where a call id falls on the weights: 0..<100.
    public static func point(_ callID: String) -> Int { Int(hash(callID) % 100) }

    /// FNV-1a over the id, then a 64-bit finaliser (splitmix64) so nearby ids spread evenly. The same on
    /// every node and every run (unlike Swift's `Hasher`).
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        h ^= h >> 30
        h &*= 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27
        h &*= 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        return h
    }

    /// `3=90,4=10`, or `3` when one version takes every call.
    public var routesText: String {
        routes.count == 1 ? String(routes[0].version) : routes.map { "\($0.version)=\($0.weight)" }.joined(separator: ",")
    }

    /// The qualified name of the alias (`name:prod`).
    public var address: FunctionName { (try? FunctionName(function, qualifier: name)) ?? function }
}
