import Foundation
import StratusTestSupport
import Testing

/// The web UI in a real browser (Debian's Chromium over the DevTools protocol, Tests/Browser/ui_flow.py):
/// a wrong password is refused, then log in, deploy hello from the store, invoke it from the panel,
/// watch the invocation count rise, read its logs, delete it, deploy an uploaded .wasm. Screenshots: .build/test-artifacts/ui/.
@Suite(.serialized) struct WebUITests {
    static var chromium: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/lib/chromium/chromium") || FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    @Test(.enabled(if: chromium, "needs Debian's chromium"))
    func logInDeployInvokeWatchAndDeleteInABrowser() throws {
        let server = try ServerProcess()
        defer { server.destroy() }
        let password = try #require(server.password)
        // A function with a timer trigger, two versions and a weighted alias, for its page.
        func cli(_ arguments: [String]) throws -> Int32 {
            try StratusBinary.run(arguments + ["--gateway", server.url], environment: ["STRATUS_HOME": server.dataDirectory.path]).status
        }
        #expect(try cli(["deploy", "--name", "nightly", "--wasm", try WasmFixtures.path("echo").path,
                         "--annotation", "topic=cron-function", "--annotation", "schedule=@every 1h"]) == 0)
        #expect(try cli(["publish", "nightly"]) == 0 && cli(["publish", "nightly"]) == 0)
        #expect(try cli(["alias", "set", "nightly", "prod", "1=90,2=10"]) == 0)
        let screenshots = WasmFixtures.repositoryRoot.appendingPathComponent(".build/test-artifacts/ui")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        script.arguments = [WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Browser/ui_flow.py").path,
                            "--url", "\(server.url)/ui/", "--user", "admin", "--password", password,
                            "--screenshots", screenshots.path, "--timeout", "240", "--upload-wasm", try WasmFixtures.path("echo").path,
                            "--versioned", "nightly"]
        let output = Pipe(), errors = Pipe()
        script.standardOutput = output
        script.standardError = errors
        try script.run()
        let errorText = LockedText()
        let reader = Thread { errorText.append(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        script.waitUntilExit()
        while reader.isExecuting { usleep(10_000) }
        #expect(script.terminationStatus == 0, "ui_flow.py: \(errorText.text.suffix(3000))\n\(text)")
        for shot in ["ui-login-error.png", "ui-functions.png", "ui-store.png", "ui-invoke.png", "ui-function.png", "ui-deleted.png", "ui-upload.png",
                     "ui-versions.png"] {
            let png = FileManager.default.contents(atPath: screenshots.appendingPathComponent(shot).path) ?? Data()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(shot)")
        }
        #expect(server.isRunning)
    }

    /// With `stratus serve --no-auth` the UI opens straight on the functions list and says auth is off.
    @Test(.enabled(if: chromium, "needs Debian's chromium"))
    func withAuthOffTheUIOpensOnTheFunctionsList() throws {
        let server = try ServerProcess(arguments: ["--no-auth"])
        defer { server.destroy() }
        let screenshots = WasmFixtures.repositoryRoot.appendingPathComponent(".build/test-artifacts/ui")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        script.arguments = [WasmFixtures.repositoryRoot.appendingPathComponent("Tests/Browser/ui_flow.py").path,
                            "--url", "\(server.url)/ui/", "--auth-off", "--screenshots", screenshots.path, "--timeout", "120"]
        let errors = Pipe()
        script.standardError = errors
        script.standardOutput = FileHandle.nullDevice
        try script.run()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        script.waitUntilExit()
        #expect(script.terminationStatus == 0, "ui_flow.py --auth-off: \(errorText.suffix(3000))")
    }
}
