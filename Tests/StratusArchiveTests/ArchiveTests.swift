import Foundation
import StratusArchive
import StratusTestSupport
import Testing

/// Archives on real temporary folders, made with /bin/tar.
struct ArchiveTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-archive-\(UUID().uuidString)")

    /// A tar.gz of `files` (path → text) and `links` (path → target); `tarArguments` end tar's command line.
    static func archive(_ files: [String: String], links: [String: String] = [:], tarArguments: [String] = ["."]) throws -> [UInt8] {
        try Tarball.make(files, links: links, tarArguments: tarArguments)
    }

    @Test func recognisesGzipByItsMagicBytes() throws {
        #expect(Archive.isGzip(try Self.archive(["a": "1"])))
        #expect(!Archive.isGzip([0x00, 0x61, 0x73, 0x6D]))
        #expect(!Archive.isGzip([0x1f]))
    }

    @Test func refusesWhatIsNotATarOrLeavesItsFolder() throws {
        #expect(throws: Never.self) { try Archive.validate(try Self.archive(["a/b.txt": "1"])) }
        let notTar: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00]
        for (bytes, problem) in [
            (notTar, "not a gzip'd tar archive"),
            (Array("plain text".utf8), "not a gzip'd tar archive"),
            (try Self.archive(["x": "1"], tarArguments: ["-P", "--transform=s,^\\./,../,", "."]), "would unpack outside its folder"),
        ] {
            do {
                try Archive.validate(bytes)
                Issue.record("accepted an archive that is \(problem)")
            } catch .invalid(let why) {
                #expect(why.contains(problem), "\(why)")
            } catch {
                Issue.record("expected .invalid, got \(error)")
            }
        }
    }

    @Test func laterArchivesReplaceEarlierFilesAndNoStagingIsLeft() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent("layers")
        let first = try Self.archive(["shared.txt": "first", "only-first.txt": "1"])
        let second = try Self.archive(["shared.txt": "second"])
        try Archive.unpack([first, second], into: target, allowLinks: true)
        #expect(try String(contentsOf: target.appendingPathComponent("shared.txt"), encoding: .utf8) == "second")
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("only-first.txt").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["layers"])
    }

    @Test func linksAreRefusedUnlessAllowedAndNothingIsLeftBehind() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let bytes = try Self.archive(["index.html": "x"], links: ["leak": "/etc/passwd"])
        #expect(throws: ArchiveError.self) { try Archive.unpack([bytes], into: directory.appendingPathComponent("site"), allowLinks: false) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        try Archive.unpack([bytes], into: directory.appendingPathComponent("bundle"), allowLinks: true)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent("bundle/leak").path) == "/etc/passwd")
    }
}
