import Foundation
import StratusModel
import Testing
@testable import StratusStore

/// The embedded store on real SQLite files in a temporary directory.
struct SQLiteStoreTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-store-\(UUID().uuidString)")

    func spec(_ name: String, artifact: Digest, env: [String: String] = [:]) throws -> FunctionSpec {
        FunctionSpec(name: try FunctionName(name), image: "\(name):latest", artifact: artifact, envVars: env)
    }

    @Test func savesListsUpdatesAndRemovesFunctions() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let artifact = try await store.putArtifact(Array("module".utf8), name: try ArtifactName("a:1"))
        try await store.saveFunction(try spec("beta", artifact: artifact.digest))
        try await store.saveFunction(try spec("alpha", artifact: artifact.digest, env: ["K": "1"]))
        #expect(try await store.functions().map(\.name.rawValue) == ["alpha", "beta"])

        try await store.saveFunction(try spec("alpha", artifact: artifact.digest, env: ["K": "2"]))
        #expect(try await store.function(named: try FunctionName("alpha"))?.envVars == ["K": "2"])
        #expect(try await store.functions().count == 2)

        #expect(try await store.removeFunction(named: try FunctionName("alpha")))
        #expect(try await store.removeFunction(named: try FunctionName("alpha")) == false)
        #expect(try await store.function(named: try FunctionName("alpha")) == nil)
    }

    @Test func everythingSurvivesReopening() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let digest: Digest
        do {
            let store = try SQLiteStore(directory: directory)
            digest = try await store.putArtifact(Array("bytes".utf8), name: try ArtifactName("keep:v1")).digest
            try await store.saveFunction(try spec("keep", artifact: digest))
        }
        let reopened = try SQLiteStore(directory: directory)
        #expect(try await reopened.function(named: try FunctionName("keep"))?.artifact == digest)
        #expect(try await reopened.resolveArtifact("keep:v1")?.digest == digest)
        #expect(try await reopened.artifactBytes(digest) == Array("bytes".utf8))
    }

    @Test func artifactsAreContentAddressedAndTagsMove() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let one = try await store.putArtifact(Array("one".utf8), name: try ArtifactName("app"))
        let again = try await store.putArtifact(Array("one".utf8), name: nil)
        #expect(one.digest == again.digest)
        #expect(one.digest == contentDigest(Array("one".utf8)))
        #expect(try await store.resolveArtifact("app:latest")?.digest == one.digest)
        #expect(try await store.resolveArtifact("app")?.digest == one.digest)
        #expect(try await store.resolveArtifact(one.digest.description)?.size == 3)

        let two = try await store.putArtifact(Array("two".utf8), name: try ArtifactName("app:latest"))
        #expect(try await store.resolveArtifact("app")?.digest == two.digest)
        #expect(try await store.resolveArtifact("missing:tag") == nil)
        #expect(try await store.resolveArtifact("sha256:" + String(repeating: "0", count: 64)) == nil)
        #expect(try await store.resolveArtifact("::bad::") == nil)
    }

    @Test func corruptedBlobsAreDetected() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let record = try await store.putArtifact(Array("original".utf8), name: nil)
        let path = directory.appendingPathComponent("artifacts/sha256/\(record.digest.hex)").path
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: path))
        await #expect(throws: StoreError.self) { try await store.artifactBytes(record.digest) }
    }

    @Test func leftoverTemporaryFilesAreSweptOnOpen() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SQLiteStore(directory: directory)
        let temp = directory.appendingPathComponent("artifacts/tmp/half-written")
        try Data("partial".utf8).write(to: temp)
        _ = try SQLiteStore(directory: directory)
        #expect(!FileManager.default.fileExists(atPath: temp.path))
    }

    @Test func aSecondCallWithTheSameIDIsADuplicate() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(directory: directory)
        let call = AsyncCall(id: "call-1", function: try FunctionName("hello"), method: "POST", path: "/", query: "", headers: [],
                             body: Array("hi".utf8), callbackURL: nil)
        try await store.enqueue(call)
        do {
            try await store.enqueue(call)
            Issue.record("the second enqueue was accepted")
        } catch .duplicate(let why) {
            #expect(why.contains("asyncCall.id"), "\(why)")
        } catch {
            Issue.record("expected .duplicate, got \(error)")
        }
        #expect(try await store.queuedCalls(states: [], limit: 10).count == 1)
    }

    @Test func unwritableDirectoryIsAClearError() {
        #expect(throws: StoreError.self) { try SQLiteStore(directory: URL(fileURLWithPath: "/proc/stratus-cannot-write-here")) }
    }
}
