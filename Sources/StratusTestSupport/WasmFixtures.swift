public import Foundation

/// Compiles the C guest programs in `Tests/Fixtures/wasm` to WASI modules for tests, once per source.
public enum WasmFixtures {
    /// The repository root, found from this file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var sourceDirectory: URL { repositoryRoot.appendingPathComponent("Tests/Fixtures/wasm") }

    /// The compiled bytes of `Tests/Fixtures/wasm/<name>.c`.
    public static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: try path(name)))
    }

    /// The path of the compiled `<name>.wasm`, compiling it when the source changed.
    public static func path(_ name: String) throws -> URL {
        let source = sourceDirectory.appendingPathComponent("\(name).c")
        let text = try Data(contentsOf: source)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-fixtures")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let output = cache.appendingPathComponent("\(name)-\(fingerprint(text)).wasm")
        if FileManager.default.fileExists(atPath: output.path) { return output }
        let temp = cache.appendingPathComponent(UUID().uuidString + ".wasm")
        try run(clang, ["--target=wasm32-wasi", "--sysroot=/usr", "-resource-dir", try resourceDirectory(), "-O2", source.path, "-o", temp.path])
        _ = try? FileManager.default.removeItem(at: output)
        try FileManager.default.moveItem(at: temp, to: output)
        return output
    }

    static var clang: String {
        for candidate in ["/opt/swift/usr/bin/clang", "/usr/bin/clang"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "clang"
    }

    /// The clang resource directory that holds Debian's wasm32 compiler builtins.
    static func resourceDirectory() throws -> String {
        let base = "/usr/lib"
        for llvm in (try? FileManager.default.contentsOfDirectory(atPath: base))?.filter({ $0.hasPrefix("llvm-") }).sorted() ?? [] {
            let clangDir = "\(base)/\(llvm)/lib/clang"
            for version in (try? FileManager.default.contentsOfDirectory(atPath: clangDir)) ?? [] {
                let dir = "\(clangDir)/\(version)"
                if FileManager.default.fileExists(atPath: "\(dir)/lib/wasi/libclang_rt.builtins-wasm32.a") { return dir }
            }
        }
        throw FixtureError("libclang_rt.builtins-wasm32.a not found: apt-get install libclang-rt-14-dev-wasm32 wasi-libc")
    }

    static func fingerprint(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        _ = try output(tool, arguments)
    }

    /// Runs `tool` with `arguments`; what it printed on stdout, or an error with its stderr when it fails.
    public static func output(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorText = LockedData()
        let reader = Thread { errorText.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorText.isSet { usleep(1000) }
        guard process.terminationStatus == 0 else {
            throw FixtureError("\(tool) failed: \(String(decoding: errorText.value, as: UTF8.self))")
        }
        return String(decoding: printed, as: UTF8.self)
    }
}

/// A fixture could not be built.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

