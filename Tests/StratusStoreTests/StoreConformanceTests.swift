import Foundation
import Logging
import StratusModel
@testable import StratusPostgres
import StratusTestSupport
import Testing
@testable import StratusStore

/// Which store a conformance test runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

/// A fresh, empty store of one kind, in its own temp directory (and, for PostgreSQL, its own
/// database on the test process's private server).
struct StoreUnderTest {
    let kind: StoreKind
    let store: any StratusStorage
    let directory: URL
    /// The PostgreSQL URL, for a second node on the same database.
    let url: String?

    static func make(_ kind: StoreKind) async throws -> StoreUnderTest {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch kind {
        case .sqlite:
            return StoreUnderTest(kind: kind, store: try SQLiteStore(directory: directory), directory: directory, url: nil)
        case .postgres:
            let url = try PostgresServer.shared.makeDatabase()
            let key = directory.appendingPathComponent("key").path
            _ = FileManager.default.createFile(atPath: key, contents: Data((0..<32).map { _ in UInt8.random(in: 0...255) }))
            let store = try await PostgresStore.open(url: url, cacheDirectory: directory.appendingPathComponent("cache"), keyFile: key,
                                                     logger: Logger(label: "test"))
            return StoreUnderTest(kind: kind, store: store, directory: directory, url: url)
        }
    }

    /// Another node's view of the same store (PostgreSQL: its own connections and disk cache).
    func secondNode() async throws -> any StratusStorage {
        guard let url else { return store }
        return try await PostgresStore.open(url: url, cacheDirectory: directory.appendingPathComponent("cache-2"),
                                            keyFile: directory.appendingPathComponent("key").path, logger: Logger(label: "test"))
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

/// One suite, both stores: every behaviour the server relies on holds the same on SQLite and on
/// PostgreSQL, so the two cannot drift.
@Suite(.serialized) struct StoreConformanceTests {
    func call(_ id: String, _ function: String = "fn", due: Date = Date()) throws -> AsyncCall {
        AsyncCall(id: id, function: try FunctionName(function), method: "POST", path: "/", query: "", headers: [["X-A", "1"]],
                  body: Array("body-\(id)".utf8), callbackURL: "http://127.0.0.1:9/cb", createdAt: due)
    }

    @Test(arguments: StoreKind.allCases) func functionsAreSavedListedUpdatedAndRemoved(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let artifact = try await store.putArtifact(Array("module".utf8), name: try ArtifactName("a:1"))
        try await store.saveFunction(FunctionSpec(name: try FunctionName("beta"), image: "a:1", artifact: artifact.digest))
        try await store.saveFunction(FunctionSpec(name: try FunctionName("alpha"), image: "a:1", artifact: artifact.digest, envVars: ["K": "1"]))
        try await store.saveFunction(FunctionSpec(name: try FunctionName(parsing: "gamma.team"), image: "cmd", artifact: nil, envProcess: "cat"))
        #expect(try await store.functions().map(\.name.qualified) == ["alpha", "beta", "gamma.team"])
        try await store.saveFunction(FunctionSpec(name: try FunctionName("alpha"), image: "a:1", artifact: artifact.digest, envVars: ["K": "2"]))
        #expect(try await store.function(named: try FunctionName("alpha"))?.envVars == ["K": "2"])
        #expect(try await store.function(named: try FunctionName(parsing: "gamma.team"))?.namespace == "team")
        #expect(try await store.removeFunction(named: try FunctionName("alpha")))
        #expect(try await store.removeFunction(named: try FunctionName("alpha")) == false)
        #expect(try await store.function(named: try FunctionName("alpha")) == nil)
    }

    @Test(arguments: StoreKind.allCases) func artifactsAreContentAddressedChunkedAndVerified(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let one = try await store.putArtifact(Array("one".utf8), name: try ArtifactName("app"))
        #expect(try await store.putArtifact(Array("one".utf8), name: nil).digest == one.digest)
        #expect(one.digest == contentDigest(Array("one".utf8)))
        #expect(try await store.resolveArtifact("app:latest")?.digest == one.digest)
        #expect(try await store.resolveArtifact(one.digest.description)?.size == 3)
        let two = try await store.putArtifact(Array("two".utf8), name: try ArtifactName("app:latest"))
        #expect(try await store.resolveArtifact("app")?.digest == two.digest)
        #expect(try await store.resolveArtifact("missing:tag") == nil)
        #expect(try await store.resolveArtifact("sha256:" + String(repeating: "0", count: 64)) == nil)
        #expect(try await store.resolveArtifact("::bad::") == nil)
        await #expect(throws: StoreError.self) { try await store.artifactBytes(try Digest("sha256:" + String(repeating: "1", count: 64))) }

        // Larger than a chunk, and not a multiple of it; read back by another node that lacks it.
        let big = (0..<(3 * 1_048_576 + 12_345)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        let record = try await store.putArtifact(big, name: try ArtifactName("model:v1"))
        let other = try await subject.secondNode()
        #expect(try await other.artifactBytes(record.digest) == big)
        #expect(try await other.resolveArtifact("model:v1")?.size == big.count)
        if kind == .postgres {
            // A node's cached copy that went bad is fetched again, never served.
            let cached = subject.directory.appendingPathComponent("cache-2/sha256/\(record.digest.hex)")
            try Data("tampered".utf8).write(to: cached)
            #expect(try await other.artifactBytes(record.digest) == big)
            #expect(try Data(contentsOf: cached).count == big.count)
            let chunks = try PostgresServer.shared.psql(subject.url!, "SELECT count(*) FROM artifact_chunk WHERE digest = '\(record.digest)'")
            #expect(chunks == "4")
        } else {
            let path = subject.directory.appendingPathComponent("artifacts/sha256/\(record.digest.hex)")
            try Data("tampered".utf8).write(to: path)
            await #expect(throws: StoreError.self) { try await store.artifactBytes(record.digest) }
        }
    }

    @Test(arguments: StoreKind.allCases) func secretsAreSealedPerNamespace(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let name = try SecretName("api-key")
        #expect(try await store.createSecret(name, value: Array("s3cret".utf8)))
        #expect(try await store.createSecret(name, value: Array("other".utf8)) == false)
        #expect(try await store.createSecret(try SecretName("api-key", namespace: "team"), value: Array("t".utf8)))
        #expect(try await store.secretValue(name) == Array("s3cret".utf8))
        #expect(try await store.updateSecret(name, value: Array("new".utf8)))
        #expect(try await store.updateSecret(try SecretName("nope"), value: []) == false)
        #expect(try await subject.secondNode().secretValue(name) == Array("new".utf8))
        #expect(try await store.secretNames(namespace: FunctionName.defaultNamespace) == ["api-key"])
        #expect(try await store.secretNames(namespace: "team") == ["api-key"])
        #expect(try await store.removeSecret(name))
        #expect(try await store.removeSecret(name) == false)
        #expect(try await store.secretValue(name) == nil)
    }

    @Test(arguments: StoreKind.allCases) func aWrongKeyIsRefusedBeforeAnythingIsWritten(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        _ = try await subject.store.createSecret(try SecretName("a"), value: Array("x".utf8))
        let wrong = subject.directory.appendingPathComponent("wrong-key").path
        _ = FileManager.default.createFile(atPath: wrong, contents: Data(repeating: 7, count: 32))
        let url = subject.url, directory = subject.directory
        let failure: (any Error)? = await {
            do {
                switch kind {
                case .sqlite: _ = try SQLiteStore(directory: directory, keyFile: wrong)
                case .postgres:
                    _ = try await PostgresStore.open(url: url ?? "", cacheDirectory: directory.appendingPathComponent("c3"), keyFile: wrong,
                                                     logger: Logger(label: "test"))
                }
                return nil
            } catch {
                return error
            }
        }()
        let message = (failure as? StoreError).flatMap { error -> String? in
            if case .wrongKey(let why) = error { return why }
            return nil
        }
        #expect(message?.contains("same --secret-key-file") == true, "\(String(describing: failure))")
        #expect(try await subject.store.secretValue(try SecretName("a")) == Array("x".utf8))
    }

    @Test(arguments: StoreKind.allCases) func logsAreBoundedPerFunctionAndCarryTheNode(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let start = Date()
        try await store.appendLogs((0..<8).map { LogLine(name: "fn", instance: "i", timestamp: start.addingTimeInterval(Double($0)), text: "line \($0)",
                                                         node: $0 % 2 == 0 ? "node-a" : nil) }, keep: 5)
        try await store.appendLogs([LogLine(name: "other", instance: "i", text: "x")], keep: 5)
        let lines = try await store.logs(function: try FunctionName("fn"), since: nil, tail: nil)
        #expect(lines.map(\.text) == ["line 3", "line 4", "line 5", "line 6", "line 7"])
        #expect(lines.map(\.node) == [nil, "node-a", nil, "node-a", nil])
        #expect(try await store.logs(function: try FunctionName("fn"), since: nil, tail: 2).map(\.text) == ["line 6", "line 7"])
        #expect(try await store.logs(function: try FunctionName("fn"), since: start.addingTimeInterval(6), tail: nil).map(\.text) == ["line 6", "line 7"])
        try await store.removeLogs(function: try FunctionName("fn"))
        #expect(try await store.logs(function: try FunctionName("fn"), since: nil, tail: nil).isEmpty)
        #expect(try await store.logs(function: try FunctionName("other"), since: nil, tail: nil).count == 1)
    }

    @Test(arguments: StoreKind.allCases) func sitesLayersAndNamespaces(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let archive = try await store.putArtifact(Array("tgz".utf8), name: nil)
        try await store.saveSite(SiteRecord(name: try FunctionName("page"), digest: archive.digest, deployedAt: Date()))
        #expect(try await store.sites().map(\.name.rawValue) == ["page"])
        #expect(try await store.removeSite(named: try FunctionName("page")))
        #expect(try await store.removeSite(named: try FunctionName("page")) == false)

        let (first, created) = try await store.publishLayer(name: "deps", digest: archive.digest, size: 3)
        #expect(first.version == 1 && created)
        #expect(try await store.publishLayer(name: "deps", digest: archive.digest, size: 3).created == false)
        let other = try await store.putArtifact(Array("tgz2".utf8), name: nil)
        #expect(try await store.publishLayer(name: "deps", digest: other.digest, size: 4).record.version == 2)
        #expect(try await store.layer(name: "deps", version: nil)?.digest == other.digest)
        #expect(try await store.layer(name: "deps", version: 1)?.digest == archive.digest)
        #expect(try await store.layers().map(\.version) == [1, 2])
        #expect(try await store.removeLayer(name: "deps", version: 1))
        #expect(try await store.removeLayer(name: "deps", version: 1) == false)

        #expect(try await store.namespaces().map(\.name) == [FunctionName.defaultNamespace])
        #expect(try await store.createNamespace(FunctionNamespace(name: "team", labels: ["a": "b"], annotations: nil)))
        #expect(try await store.createNamespace(FunctionNamespace(name: "team", labels: nil, annotations: nil)) == false)
        #expect(try await store.namespace(named: "team")?.labels == ["a": "b", "openfaas": "1"])
        #expect(try await store.updateNamespace(FunctionNamespace(name: "team", labels: ["c": "d"], annotations: nil)))
        #expect(try await store.namespace(named: "team")?.labels == ["c": "d", "openfaas": "1"])
        try await store.saveFunction(FunctionSpec(name: try FunctionName(parsing: "fn.team"), image: "cmd", artifact: nil, envProcess: "cat"))
        #expect(try await store.removeNamespace(named: "team") == .inUse(["function fn.team"]))
        _ = try await store.removeFunction(named: try FunctionName(parsing: "fn.team"))
        #expect(try await store.removeNamespace(named: "team") == .removed)
        #expect(try await store.removeNamespace(named: "team") == .notFound)
    }

    @Test(arguments: StoreKind.allCases) func nodesHeartbeatAndAgeOut(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let now = Date()
        try await store.heartbeat(NodeRecord(id: "a", address: "http://a", version: "1", startedAt: now, heartbeatAt: now, functions: 2, inflight: 1))
        try await store.heartbeat(NodeRecord(id: "b", address: "http://b", version: "1", startedAt: now, heartbeatAt: now.addingTimeInterval(-120),
                                             functions: 0, inflight: 0))
        try await store.heartbeat(NodeRecord(id: "a", address: "http://a", version: "1", startedAt: now, heartbeatAt: now, functions: 3, inflight: 0))
        #expect(try await store.nodes(since: now.addingTimeInterval(-10)).map(\.id) == ["a"])
        #expect(try await store.nodes(since: now.addingTimeInterval(-10)).first?.functions == 3)
        #expect(try await store.removeNodes(silentSince: now.addingTimeInterval(-60)) == 1)
        #expect(try await store.nodes(since: .distantPast).map(\.id) == ["a"])
        try await store.removeNode("a")
        #expect(try await store.nodes(since: .distantPast).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func claimsLeaseAndFenceAsyncCalls(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let now = Date()
        for index in 0..<4 { try await store.enqueue(try call("c\(index)", due: now.addingTimeInterval(Double(index) * 0.001))) }
        do {
            try await store.enqueue(try call("c0"))
            Issue.record("a second call with the same id was stored")
        } catch let error as StoreError {
            guard case .duplicate = error else { Issue.record("expected .duplicate, got \(error)"); return }
        }
        // Concurrency 2 for fn, counted over the running calls of every node.
        let first = try await store.claimDue(now: now.addingTimeInterval(1), limit: 10, node: "a", leaseUntil: now.addingTimeInterval(30),
                                             skipping: [], limits: { _ in 2 })
        #expect(first.map(\.id) == ["c0", "c1"])
        #expect(first.allSatisfy { $0.attempts == 1 && $0.claim == 1 && $0.state == .running })
        let other = try await subject.secondNode()
        #expect(try await other.claimDue(now: now.addingTimeInterval(1), limit: 10, node: "b", leaseUntil: now.addingTimeInterval(30),
                                         skipping: [], limits: { _ in 2 }).isEmpty)
        // Node a's lease on c0 runs out (a was killed): node b claims it again, as attempt 2.
        let taken = try await other.claimDue(now: now.addingTimeInterval(31), limit: 1, node: "b", leaseUntil: now.addingTimeInterval(60),
                                             skipping: [], limits: { _ in 2 })
        #expect(taken.map(\.id) == ["c0"])
        #expect(taken.first?.attempts == 2 && taken.first?.claim == 2)
        // Node a comes back: nothing it does for c0 under its old claim is recorded.
        #expect(try await store.extendLease("c0", claim: 1, until: now.addingTimeInterval(90)) == false)
        #expect(try await store.finish("c0", claim: 1) == false)
        #expect(try await store.storeResult("c0", claim: 1, AsyncResult(status: 200, body: [], contentType: nil, duration: 0), nextAttemptAt: now) == false)
        #expect(try await store.queuedCall("c0")?.claim == 2)
        // The current claim records its outcome; the lease can be extended meanwhile.
        #expect(try await other.extendLease("c0", claim: 2, until: now.addingTimeInterval(90)))
        let result = AsyncResult(status: 200, body: Array("ok".utf8), contentType: "text/plain", duration: 0.5)
        #expect(try await other.storeResult("c0", claim: 2, result, nextAttemptAt: now))
        #expect(try await store.queuedCall("c0")?.state == .delivering)
        #expect(try await store.queuedCall("c0")?.result == result)
        // A delivery in progress (leased) is not claimed by anyone else; one let go is.
        #expect(try await store.claimDeliveries(now: now.addingTimeInterval(31), limit: 5, node: "a", leaseUntil: now.addingTimeInterval(60)).isEmpty)
        #expect(try await other.rescheduleDelivery("c0", claim: 2, at: now.addingTimeInterval(32), error: "refused"))
        let delivery = try await store.claimDeliveries(now: now.addingTimeInterval(33), limit: 5, node: "a", leaseUntil: now.addingTimeInterval(60))
        #expect(delivery.map(\.id) == ["c0"])
        #expect(delivery.first?.callbackAttempts == 1 && delivery.first?.claim == 3)
        #expect(try await store.finish("c0", claim: 3))
        #expect(try await store.queuedCall("c0") == nil)

        // Retry later, dead-letter, retry from the dead-letter list.
        #expect(try await store.reschedule("c1", claim: 1, at: now.addingTimeInterval(100), status: 503, error: "busy"))
        #expect(try await store.queuedCall("c1")?.state == .pending)
        let due = try #require(try await store.nextDue())
        #expect(due.timeIntervalSince1970 <= now.addingTimeInterval(100).timeIntervalSince1970 + 0.001)
        let again = try await store.claimDue(now: now.addingTimeInterval(101), limit: 10, node: "a", leaseUntil: now.addingTimeInterval(200),
                                             skipping: ["fn"], limits: { _ in 5 })
        #expect(again.isEmpty, "functions at their limit are skipped")
        let all = try await store.claimDue(now: now.addingTimeInterval(101), limit: 10, node: "a", leaseUntil: now.addingTimeInterval(200),
                                           skipping: [], limits: { _ in 5 })
        #expect(Set(all.map(\.id)) == ["c1", "c2", "c3"])
        #expect(try await store.deadLetter("c1", claim: all.first { $0.id == "c1" }!.claim, status: 500, reason: "boom"))
        #expect(try await store.queueCounts()[.failed] == 1)
        #expect(try await store.queuedCalls(states: [.failed], limit: 10).first?.lastError == "boom")
        #expect(try await store.cancel("c2") == .running)
        #expect(try await store.retry("c1", now: now))
        #expect(try await store.cancel("c1") == .cancelled)
        #expect(try await store.cancel("c1") == .notFound)
        // A restarted node puts back what it left running.
        #expect(try await store.recoverRunning(node: "a") == 2)
        #expect(try await store.queueCounts()[.pending] == 2)
    }

    @Test func theSharedStoreCountsChangesAndNotifiesOtherNodes() async throws {
        let subject = try await StoreUnderTest.make(.postgres)
        defer { subject.cleanUp() }
        let other = try await subject.secondNode()
        var notifications = other.notifications().makeAsyncIterator()
        #expect(subject.store.isShared)
        let before = try await other.changeCounter()
        try await subject.store.saveFunction(FunctionSpec(name: try FunctionName("fn"), image: "cmd", artifact: nil, envProcess: "cat"))
        #expect(await notifications.next() == .changed)
        #expect(try await other.changeCounter() == before + 1)
        try await subject.store.enqueue(try call("q1"))
        #expect(await notifications.next() == .queued)
        _ = try await subject.store.createSecret(try SecretName("s"), value: [1])
        #expect(await notifications.next() == .changed)
        #expect(try await other.changeCounter() == before + 2)
        // The embedded store has no other writer.
        let local = try SQLiteStore(directory: subject.directory.appendingPathComponent("sqlite"))
        #expect(!local.isShared)
    }

    @Test func aStoppedDatabaseIsUnavailableAndTheStoreReconnects() async throws {
        // A server of its own: stopping the shared one would break the other tests.
        let server = try PostgresServer()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-outage-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key").path
        _ = FileManager.default.createFile(atPath: key, contents: Data(repeating: 1, count: 32))
        let store = try await PostgresStore.open(url: try server.makeDatabase(), cacheDirectory: directory, keyFile: key, logger: Logger(label: "test"),
                                                 deadline: .seconds(2))
        try await store.saveFunction(FunctionSpec(name: try FunctionName("fn"), image: "cmd", artifact: nil, envProcess: "cat"))
        try server.stop()
        do {
            try await store.saveFunction(FunctionSpec(name: try FunctionName("other"), image: "cmd", artifact: nil, envProcess: "cat"))
            Issue.record("a write succeeded with the database stopped")
        } catch let error as StoreError {
            guard case .unavailable = error else { Issue.record("expected .unavailable, got \(error)"); return }
        }
        try server.start()
        var names: [String] = []
        for _ in 0..<50 {
            if let specs = try? await store.functions() { names = specs.map(\.name.rawValue); break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(names == ["fn"])
    }

    @Test func nodesStartingTogetherMigrateOnce() async throws {
        let url = try PostgresServer.shared.makeDatabase()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key").path
        _ = FileManager.default.createFile(atPath: key, contents: Data(repeating: 2, count: 32))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    let store = try await PostgresStore.open(url: url, cacheDirectory: directory.appendingPathComponent("c\(index)"), keyFile: key,
                                                             logger: Logger(label: "test"))
                    _ = try await store.functions()
                }
            }
            try await group.waitForAll()
        }
        #expect(try PostgresServer.shared.psql(url, "SELECT count(*) FROM stratus_migration") == "\(PostgresStore.migrations.count)")
        #expect(try PostgresServer.shared.psql(url, "SELECT count(*) FROM namespace") == "1")
    }

    @Test(arguments: StoreKind.allCases) func versionsAreFrozenNumberedOnceAndAliasesGuardThem(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let fn = try FunctionName("shop")
        #expect(try await store.publishVersion(of: fn, description: "", now: Date()) == nil, "nothing to publish")
        try await store.saveFunction(FunctionSpec(name: fn, image: "cmd", artifact: nil, envProcess: "cat", envVars: ["V": "1"]))
        let one = try #require(try await store.publishVersion(of: fn, description: "first", now: Date()))
        #expect(one.version == 1 && one.spec.name.qualified == "shop:1" && one.spec.envVars == ["V": "1"] && one.description == "first")
        try await store.saveFunction(FunctionSpec(name: fn, image: "cmd", artifact: nil, envProcess: "cat", envVars: ["V": "2"]))
        let two = try #require(try await store.publishVersion(of: fn, description: "", now: Date()))
        #expect(two.version == 2 && two.spec.envVars == ["V": "2"])
        // Another node sees the same records, version 1 unchanged by the later deploy.
        let other = try await subject.secondNode()
        #expect(try await other.versions(of: fn).map(\.spec.envVars) == [["V": "1"], ["V": "2"]])
        #expect(try await other.allVersions().map(\.spec.name.qualified) == ["shop:1", "shop:2"])
        // Its replica count is the one thing about a version that changes.
        #expect(try await store.setVersionReplicas(of: fn, 1, replicas: 3))
        #expect(try await store.setVersionReplicas(of: fn, 99, replicas: 3) == false)
        #expect(try await other.versions(of: fn).map(\.spec.replicas) == [3, nil])

        let alias = try FunctionAlias(function: fn, name: "prod", routes: [AliasRoute(version: 1, weight: 90), AliasRoute(version: 2, weight: 10)])
        #expect(try await store.setAlias(alias) == .saved(created: true))
        #expect(try await store.setAlias(alias) == .saved(created: false))
        #expect(try await store.setAlias(try FunctionAlias(function: fn, name: "next", routes: [AliasRoute(version: 9, weight: 100)])) == .missingVersions([9]))
        #expect(try await store.setAlias(try FunctionAlias(function: try FunctionName("ghost"), name: "prod", routes: [AliasRoute(version: 1, weight: 100)]))
                == .functionNotFound)
        #expect(try await other.allAliases().map(\.routesText) == ["1=90,2=10"])
        #expect(try await store.removeVersion(of: fn, 2) == .referenced(["prod"]))
        #expect(try await store.removeVersion(of: fn, 7) == .notFound)
        #expect(try await store.setAlias(try FunctionAlias(function: fn, name: "prod", routes: [AliasRoute(version: 1, weight: 100)])) == .saved(created: false))
        #expect(try await store.removeVersion(of: fn, 2) == .removed)
        let three = try #require(try await store.publishVersion(of: fn, description: "", now: Date()))
        #expect(three.version == 3, "a removed number is never given again")
        #expect(try await store.removeAlias(of: fn, named: "prod"))
        #expect(try await store.removeAlias(of: fn, named: "prod") == false)
        // Removing the function takes its versions, aliases and timer state with it; numbers still go on.
        _ = try await store.setAlias(try FunctionAlias(function: fn, name: "prod", routes: [AliasRoute(version: 1, weight: 100)]))
        _ = try await store.advanceTimer(function: "shop", expected: nil, schedule: "@every 1s UTC", lastTick: 1000, calls: [], node: "n1")
        #expect(try await store.removeFunction(named: fn))
        let (versionsLeft, aliasesLeft, timersLeft) = (try await store.allVersions(), try await store.allAliases(), try await store.timerStates())
        #expect(versionsLeft.isEmpty && aliasesLeft.isEmpty && timersLeft.isEmpty)
        try await store.saveFunction(FunctionSpec(name: fn, image: "cmd", artifact: nil, envProcess: "cat"))
        #expect(try await store.publishVersion(of: fn, description: "", now: Date())?.version == 4)
    }

    @Test(arguments: StoreKind.allCases) func aTimerTickIsClaimedByOneNodeWithItsCalls(kind: StoreKind) async throws {
        let subject = try await StoreUnderTest.make(kind)
        defer { subject.cleanUp() }
        let store = subject.store
        let other = try await subject.secondNode()
        // No row for a function that does not exist (a step racing its removal leaves nothing behind).
        #expect(try await store.advanceTimer(function: "tick", expected: nil, schedule: "@every 1s UTC", lastTick: 1000, calls: [], node: "a") == false)
        #expect(try await store.timerStates().isEmpty)
        try await store.saveFunction(FunctionSpec(name: try FunctionName("tick"), image: "cmd", artifact: nil, envProcess: "cat"))
        #expect(try await store.advanceTimer(function: "tick", expected: nil, schedule: "@every 1s UTC", lastTick: 1000, calls: [], node: "a"))
        #expect(try await other.advanceTimer(function: "tick", expected: nil, schedule: "@every 1s UTC", lastTick: 1000, calls: [], node: "b") == false,
                "armed once")
        let tick = try call("timer-tick-2000", "tick")
        // Both nodes read lastTick 1000 and race for tick 2000: one wins, and its call is queued once.
        async let first = store.advanceTimer(function: "tick", expected: (1000, "@every 1s UTC"), schedule: "@every 1s UTC", lastTick: 2000,
                                             calls: [tick], node: "a")
        async let second = other.advanceTimer(function: "tick", expected: (1000, "@every 1s UTC"), schedule: "@every 1s UTC", lastTick: 2000,
                                              calls: [tick], node: "b")
        let wins = [try await first, try await second].filter { $0 }.count
        #expect(wins == 1)
        #expect(try await store.queueCounts()[.pending] == 1)
        let state = try #require(try await other.timerStates().first)
        #expect(state.lastTick == 2000 && ["a", "b"].contains(state.lastFiredBy ?? ""))
        // An id already queued (a replay racing a late node) is not queued twice, and does not fail the claim.
        #expect(try await store.advanceTimer(function: "tick", expected: (2000, "@every 1s UTC"), schedule: "@every 1s UTC", lastTick: 3000,
                                             calls: [tick, try call("timer-tick-3000", "tick")], node: "a"))
        #expect(try await store.queueCounts()[.pending] == 2)
        // Outcomes: the latest tick's is kept, an older one arriving late does not overwrite it.
        try await store.recordTimerRun(function: "tick", tick: 3000, status: 200, error: nil, at: Date())
        try await other.recordTimerRun(function: "tick", tick: 2000, status: 500, error: "late", at: Date())
        let recorded = try #require(try await store.timerStates().first)
        #expect(recorded.lastRunTick == 3000 && recorded.lastStatus == 200 && recorded.lastError == nil)
        #expect(TimerState.parse(callID: "timer-my-fn.team-1796662818000")! == ("my-fn.team", 1_796_662_818_000))
        #expect(TimerState.parse(callID: "call-1") == nil)
    }
}
