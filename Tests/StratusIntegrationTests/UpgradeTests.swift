import Foundation
import StratusTestSupport
import Testing

/// A store written by an earlier release (Tests/Fixtures/upgrade/*, made by
/// scripts/make-upgrade-fixture.sh with that release's binary) opens with this build: its
/// migrations run, and every function, secret, queued call and log line is still there.
@Suite(.serialized) struct UpgradeTests {
    static let fixtures = WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/upgrade")

    static var releases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func cli(_ server: ServerProcess, _ arguments: [String]) throws -> StratusBinary.Output {
        try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path])
    }

    /// The fixture as a data directory: the database from its SQL dump, the secret key, the credentials.
    func restore(_ release: String) throws -> (data: URL, manifest: [String: String]) {
        let source = Self.fixtures.appendingPathComponent(release)
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [data.appendingPathComponent("stratus.db").path]
        sqlite.standardInput = try FileHandle(forReadingFrom: source.appendingPathComponent("stratus.sql"))
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)
        let key = try String(contentsOf: source.appendingPathComponent("secret.key.b64"), encoding: .utf8)
        try Data(base64Encoded: key.trimmingCharacters(in: .whitespacesAndNewlines))!.write(to: data.appendingPathComponent("secret.key"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("credentials"), to: data.appendingPathComponent("credentials"))
        for file in ["secret.key", "credentials"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: data.appendingPathComponent(file).path)
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("manifest.json"))) as? [String: String] ?? [:]
        return (data, manifest)
    }

    @Test func thereIsAFixtureOfTheLastRelease() {
        #expect(!Self.releases.isEmpty, "Tests/Fixtures/upgrade holds at least one earlier release's store")
    }

    @Test(arguments: UpgradeTests.releases)
    func anEarlierReleasesStoreOpensWithNothingLost(release: String) throws {
        let (data, manifest) = try restore(release)
        defer { try? FileManager.default.removeItem(at: data) }
        let server = try ServerProcess(dataDirectory: data, arguments: ["--log-level", "warning"])
        defer { server.stop() }
        #expect(server.password == manifest["password"], "the credentials are kept")

        let list = try cli(server, ["list"]).stdout
        for name in ["upper", "reader", "failing"] { #expect(list.contains(name), "\(name) survives the upgrade: \(list)") }
        let described = try cli(server, ["describe", "upper"]).stdout
        #expect(described.contains("com.stratus.timeout") && described.contains("GREETING") && described.contains("team"), "\(described)")
        let upper = try StratusBinary.run(["invoke", "upper", "--gateway", server.url], environment: ["STRATUS_HOME": data.path], stdin: "after")
        #expect(upper.stdout == "AFTER", "\(upper.stdout)\(upper.stderr)")
        #expect(try cli(server, ["secret", "list"]).stdout.contains("db-password"))
        let reader = try StratusBinary.run(["invoke", "reader", "--gateway", server.url], environment: ["STRATUS_HOME": data.path])
        #expect(reader.stdout == "hunter2", "the secret still decrypts: \(reader.stdout)\(reader.stderr)")

        let call = manifest["failedCall"] ?? "?"
        let queue = try cli(server, ["queue", "list", "--state", "failed"]).stdout
        #expect(queue.contains(call), "the dead-lettered call survives: \(queue)")
        #expect(try cli(server, ["queue", "retry", call]).status == 0, "and can be retried")
        #expect(try cli(server, ["logs", "upper"]).stdout.contains("Forking fprocess"), "logs survive")
        // The new tables are there: a layer can be published on the upgraded store.
        let folder = data.appendingPathComponent("layer-src")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: folder.appendingPathComponent("x.txt"))
        #expect(try cli(server, ["layer", "publish", "fresh", folder.path]).status == 0)
    }
}
